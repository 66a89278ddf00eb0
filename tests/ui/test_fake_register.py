"""The UI's fake register and the real one both implement `RegisterApi`, name for name and parameter for parameter."""

from __future__ import annotations

import inspect

import pytest

from firmware.register import Register, RegisterApi
from tests.ui.fake_register import FakeRegister


def api_members() -> dict[str, inspect.Signature | None]:
    """What `RegisterApi` asks for: methods with their signatures, properties (and attributes) by name."""
    members: dict[str, inspect.Signature | None] = {}
    for name, value in vars(RegisterApi).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            members[name] = None
        elif inspect.isfunction(value):
            members[name] = inspect.signature(value)
    return members


def test_register_api_lists_what_the_ui_calls():
    assert {"handle", "pump", "view", "lockout", "clock"} <= set(api_members())


@pytest.mark.parametrize("implementation", [FakeRegister, Register], ids=["FakeRegister", "Register"])
def test_it_implements_every_member_with_the_same_parameters(implementation):
    for name, wanted in api_members().items():
        if wanted is None:  # a property: an attribute set in __init__ counts too
            source = inspect.getsource(implementation.__init__)
            assert hasattr(implementation, name) or f"self.{name} =" in source, f"{implementation.__name__}.{name}"
            continue
        member = getattr(implementation, name, None)
        assert callable(member), f"{implementation.__name__} has no method {name}"
        got = inspect.signature(member)
        assert list(got.parameters) == list(wanted.parameters), f"{implementation.__name__}.{name}{got} != {wanted}"
        for param in wanted.parameters.values():
            assert got.parameters[param.name].default == param.default, (
                f"{implementation.__name__}.{name}: {param.name}")
            assert got.parameters[param.name].kind == param.kind, f"{implementation.__name__}.{name}: {param.name}"


def test_a_fake_is_a_register_api_at_run_time_too():
    fake: RegisterApi = FakeRegister()  # what mypy checks statically
    assert isinstance(fake, RegisterApi)  # every member present (runtime_checkable)
