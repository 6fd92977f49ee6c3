"""Every anticipated failure has its own stable code: no two error classes define the same one, so
a caller (the app, the portal, the helpline's console) can tell them apart by the code alone."""

import importlib
import pkgutil

import wattwallet
from wattwallet.domain import errors


def _all_error_classes() -> list[type[errors.WattWalletError]]:
    for module in pkgutil.walk_packages(wattwallet.__path__, "wattwallet."):
        if module.name.endswith("__main__") or ".migrations" in module.name:
            continue
        importlib.import_module(module.name)
    found, todo = [], [errors.WattWalletError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_no_two_error_classes_define_the_same_code() -> None:
    owners: dict[str, list[str]] = {}
    for cls in _all_error_classes():
        if "code" in vars(cls):
            owners.setdefault(cls.code, []).append(f"{cls.__module__}.{cls.__qualname__}")
    shared = {code: names for code, names in owners.items() if len(names) > 1}
    assert not shared, shared


def test_codes_are_snake_case() -> None:
    for cls in _all_error_classes():
        assert cls.code.replace("_", "").isalnum() and cls.code == cls.code.lower(), cls
