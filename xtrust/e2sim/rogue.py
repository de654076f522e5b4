"""A rogue xApp: a burst of E2SM-RC handover and UE-release controls.

:class:`RogueXApp` is an ordinary :class:`~xtrust.ric.xapp.XApp` that, once
started against a RIC, finds the E2 nodes (given, or every connected gNB in
the RNIB) and sends ``count`` RAN controls at ``rate`` per second, spread over
the nodes: with probability ``release_share`` an RRC connection release,
otherwise a handover to one of ``cells``. It is what an attacker's (or a
buggy) xApp with control rights does to a RAN; the scenario engine records
the episode as ground truth (``rogue-xapp``); a ``rogue_launcher`` given to the
engine typically does::

    def launch(order: RogueOrder) -> None:
        app = RogueXApp.from_order(order, ric=ric_address, sdl=sdl, rmr_port=0, http=False)
        tasks.add(asyncio.get_running_loop().create_task(app.run_burst()))

Which UEs: ``ues(meid)`` returns the AMF UE NGAP IDs the app knows (an app
with UE-level KPM reports knows them; the digital twin passes its model's).
Without it the app sprays IDs drawn from ``ue_id_range`` and most controls
fail (``RIC_CONTROL_FAILURE``), which is a signature too. Results are counted
in :attr:`RogueXApp.results` (``ack``, ``failure``, ``timeout``, ``error``);
:attr:`RogueXApp.done` is set when the burst is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from xtrust.errors import InputError
from xtrust.log import get_logger
from xtrust.ric.asn1 import rc
from xtrust.ric.asn1.kpm import GnbUeId, Guami, NrCgi
from xtrust.ric.rnib import ConnectionStatus
from xtrust.ric.xapp import ControlError, ControlFailure, ControlTimeout, XApp

from .scenarios import RogueOrder

__all__ = ["RogueXApp"]

log = get_logger("e2sim.rogue")

DEFAULT_PLMN = bytes.fromhex("00f110")  # 001-01
RC_FUNCTION_ID = 3  # when the RNIB does not say


class RogueXApp(XApp):
    """Sends ``count`` RC controls at ``rate``/s to ``nodes`` (default: every connected gNB)."""

    name = "rogue-xapp"

    def __init__(
        self,
        config: Any = None,
        *,
        count: int = 100,
        rate: float = 20.0,
        nodes: Sequence[str] = (),
        cells: Sequence[int] = (),
        ues: Callable[[str], Sequence[int]] | None = None,
        release_share: float = 0.5,
        ue_id_range: tuple[int, int] = (1, 1 << 24),
        seed: int = 0,
        on_first: Callable[[], object] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, **kwargs)
        if count < 0 or not rate > 0:
            raise InputError(f"a rogue xApp needs count >= 0 and rate > 0, got {count}, {rate}")
        self.count = count
        self.rate = rate
        self.target_nodes = tuple(nodes)
        self.target_cells = tuple(cells)
        self.ue_source = ues
        self.release_share = release_share
        self.ue_id_range = ue_id_range
        self.rng = random.Random(f"rogue:{seed}")
        self.results: Counter[str] = Counter()
        self.sent = 0
        #: called once, as the first control goes out (the attack's onset, for the twin's
        #: ground truth: the app's own start-up before it is no attack yet)
        self.on_first = on_first
        self.done = asyncio.Event()
        self._burst_task: asyncio.Task[None] | None = None

    @classmethod
    def from_order(cls, order: RogueOrder, **kwargs: Any) -> RogueXApp:
        """The app a scenario's :class:`~xtrust.e2sim.scenarios.RogueOrder` asks for.

        ``kwargs`` go to :class:`XApp` (``ric=``, ``sdl=``, ports) and may add ``ues=``.
        """
        return cls(count=order.count, rate=order.rate, nodes=order.nodes, cells=order.cells,
                   seed=order.seed, **kwargs)  # fmt: skip

    async def run_burst(self) -> Counter[str]:
        """Start, send the whole burst, stop; the results."""
        async with self:
            await self.done.wait()
        return self.results

    async def on_start(self) -> None:
        self._burst_task = asyncio.get_running_loop().create_task(self._burst(), name="rogue")

    async def on_stop(self) -> None:
        if self._burst_task is not None:
            self._burst_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._burst_task

    async def _nodes(self) -> list[tuple[str, bytes, int]]:
        """(RAN name, PLMN, RC function id) of the nodes to attack."""
        names = list(self.target_nodes)
        if not names:
            names = [i.inventory_name for i in await self.rnib.list_nodebs()]
        out = []
        for name in names:
            plmn, function = DEFAULT_PLMN, RC_FUNCTION_ID
            info = await self.rnib.get_nodeb(name)
            if info is not None:
                if not self.target_nodes and info.connection_status != ConnectionStatus.CONNECTED:
                    continue
                with contextlib.suppress(ValueError):
                    plmn = bytes.fromhex(info.global_nb_id.plmn_id) or DEFAULT_PLMN
                for f in info.gnb.ran_functions:
                    if f.ran_function_oid == rc.OID:
                        function = f.ran_function_id
            out.append((name, plmn, function))
        return out

    async def _burst(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            nodes = await self._nodes()
            if not nodes:
                log.warning("rogue xApp: no E2 node to send controls to")
                return
            pending: set[asyncio.Task[None]] = set()
            start = loop.time()
            for i in range(self.count):
                await asyncio.sleep(max(0.0, start + i / self.rate - loop.time()))
                meid, plmn, function = nodes[i % len(nodes)]
                known = list(self.ue_source(meid)) if self.ue_source is not None else []
                ue = (known[self.rng.randrange(len(known))] if known
                      else self.rng.randrange(*self.ue_id_range))  # fmt: skip
                ue_id = GnbUeId(ue, Guami(plmn, amf_region_id=1, amf_set_id=1, amf_pointer=0))
                if self.target_cells and self.rng.random() >= self.release_share:
                    cell = self.target_cells[self.rng.randrange(len(self.target_cells))]
                    coro = self.handover(meid, function, ue_id, NrCgi(plmn, cell))
                else:
                    coro = self.release_ue(meid, function, ue_id)
                self.sent += 1
                if self.sent == 1 and self.on_first is not None:
                    self.on_first()
                task = loop.create_task(self._one(coro))
                pending.add(task)
                task.add_done_callback(pending.discard)
            if pending:
                await asyncio.gather(*pending)
        finally:
            self.done.set()

    async def _one(self, coro: Any) -> None:
        try:
            await coro
            self.results["ack"] += 1
        except ControlFailure:
            self.results["failure"] += 1
        except ControlTimeout:
            self.results["timeout"] += 1
        except ControlError:
            self.results["error"] += 1
