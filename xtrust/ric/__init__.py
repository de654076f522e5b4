"""The xApp/rApp SDK: RIC protocols (E2AP, E2SM-KPM/RC, RMR, A1) and RIC-lite.

``ric`` depends on nothing else in ``xtrust`` (but the shared ``errors`` and
``log`` modules).
"""
