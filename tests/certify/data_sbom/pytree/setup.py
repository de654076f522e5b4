from setuptools import setup

BASE = ["idna==3.4", "certifi>=2023.7.22"]


def computed() -> list[str]:
    return ["never-read==1.0"]


setup(
    name="legacy",
    install_requires=BASE + ["charset-normalizer==3.2.0"],  # noqa: RUF005
    extras_require={"socks": ["PySocks==1.7.1"]},
    tests_require=computed(),
)
