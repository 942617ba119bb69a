"""The field catalogue is the service model, read at run time."""

from __future__ import annotations

from pathlib import Path

import botocore.session
import pytest
from botocore.model import ListShape, StructureShape

import opptoolkit as ot
from opptoolkit.schema import label_for, split_column


@pytest.fixture(scope="module")
def model():
    return botocore.session.get_session().get_service_model("partnercentral-selling")


def _leaves(shape, prefix=""):
    for name, m in shape.members.items():
        if isinstance(m, StructureShape):
            yield from _leaves(m, f"{prefix}{name}.")
        elif isinstance(m, ListShape) and isinstance(m.member, StructureShape):
            yield from _leaves(m.member, f"{prefix}{name}[].")
        else:
            yield f"{prefix}{name}", m


def test_catalog_covers_every_leaf_of_get_and_update(model):
    schema = ot.get_schema()
    get_leaves = dict(_leaves(model.operation_model("GetOpportunity").output_shape))
    upd_leaves = dict(_leaves(model.operation_model("UpdateOpportunity").input_shape))
    assert set(schema.fields) == set(get_leaves)
    # every Update member is in the catalogue and writable, except Identifier (= Id)
    assert set(upd_leaves) - set(schema.fields) == {"Identifier"}
    assert {f.path for f in schema if f.writable} == set(upd_leaves) - {"Identifier"}


def test_output_only_members_are_the_documented_five(model):
    schema = ot.get_schema()
    roots = {f.path.split(".")[0].split("[")[0] for f in schema if f.output_only}
    assert roots == {"Id", "Arn", "CreatedDate", "RelatedEntityIdentifiers", "OpportunityTeam"}


def test_constraints_come_from_the_model(model):
    schema = ot.get_schema()
    assert schema["LifeCycle.Stage"].enum == tuple(model.shape_for("Stage").enum)
    assert schema["Customer.Account.Address.CountryCode"].enum == tuple(model.shape_for("CountryCode").enum)
    assert "NA" in schema["Customer.Account.Address.CountryCode"].enum
    assert schema["PrimaryNeedsFromAws"].is_list and schema["PrimaryNeedsFromAws"].enum
    assert schema["Project.ExpectedCustomerSpend[].Amount"].pattern == model.shape_for("Amount").metadata["pattern"]
    assert schema.struct_lists["Project.ExpectedCustomerSpend"].max == 10
    assert schema["Customer.Account.CompanyName"].required and schema["Customer.Account.CompanyName"].sensitive
    assert schema["Project.ExpectedContractDuration.Term"].enum  # in botocore 1.43.9 and later
    assert schema["LastModifiedDate"].type == "timestamp"


def _package_trees():
    import ast
    import pathlib

    for path in sorted(pathlib.Path(ot.__file__).parent.rglob("*.py")):
        yield path, ast.parse(path.read_text())


def _code_strings(tree) -> set[str]:
    """Every string constant in a module's code, docstrings (examples) excluded."""
    import ast

    docs = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)
    }  # fmt: skip
    return {
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
    }


def _documented_values() -> set[str]:
    """Values the business rules name, each passed through rules' model_value (checked against the model's
    enums) or _documented (checked against the model's documentation text)."""
    import ast
    import pathlib

    trees = [ast.parse(f.read_text()) for f in sorted((pathlib.Path(ot.__file__).parent / "rules").glob("*.py"))]
    out = set()
    for n in (n for tree in trees for n in ast.walk(tree)):
        if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "model_value":
            out |= {a.value for a in ast.walk(n.args[1]) if isinstance(a, ast.Constant)}
        if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "_documented":
            out |= {a.value for a in n.args[1:] if isinstance(a, ast.Constant)}
        if isinstance(n, ast.GeneratorExp) and any(
            isinstance(c, ast.Call) and getattr(c.func, "id", "") == "model_value" for c in ast.walk(n.elt)
        ):
            out |= {a.value for a in ast.walk(n) if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    return out


def test_documented_rule_values_exist_in_the_model():
    from opptoolkit import rules

    values = _documented_values()
    assert {"Yes", "Government", "Closed Lost", "Action Required", "Submitted"} <= values
    assert rules.LOCKED_STATUSES | {rules.ACTION_REQUIRED} <= set(ot.get_schema()["LifeCycle.ReviewStatus"].enum)


def test_no_enum_list_typed_by_hand_in_the_package():
    """No literal list, tuple or set in the code holds two values of one enum of the model (but
    for a documented set the business rules name, each value checked against the model)."""
    import ast

    documented = _documented_values()
    enums = [set(f.enum) - documented for f in ot.get_schema() if len(f.enum) > 1]
    for path, tree in _package_trees():
        for node in ast.walk(tree):
            if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
                values = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                for enum in enums:
                    assert len(values & enum) < 2, f"{path.name}:{node.lineno}: {sorted(values & enum)}"


def test_no_field_path_or_enum_value_typed_by_hand_in_the_library_code():
    """Outside the data generators (testing.py, sandbox/_seed.py) and the scripted demo session
    (demo.py, which edits named fields as a user would), no enum value and no dotted field
    path is a string constant, except the single values the documented business rules name
    (checked against the model) and member names that happen to equal one ("Email")."""
    schema = ot.get_schema()
    members = {part.removesuffix("[]") for f in schema for part in f.path.split(".")}
    enum_values = {v for f in schema for v in f.enum}
    paths = {f.path for f in schema if "." in f.path} | set(schema.struct_lists)
    for path, tree in _package_trees():
        if path.name in ("testing.py", "_seed.py", "demo.py"):
            continue
        strings = _code_strings(tree) - _documented_values() - members
        assert not (strings & enum_values), (path.name, strings & enum_values)
        assert not (strings & paths), (path.name, strings & paths)


def test_columns_and_labels():
    schema = ot.get_schema()
    cols = schema.columns({"Customer.Contacts": 2})
    assert cols[0] == "Id"
    assert "Customer.Contacts[1].Email" in cols and "Customer.Contacts[2].Email" not in cols
    assert "OpportunityTeam[0].Email" in cols  # at least one set per list, always
    labels = [label_for(c) for c in cols]
    assert len(set(labels)) == len(labels)
    for c, lab in zip(cols, labels, strict=True):
        assert schema.path_for_label(lab) == c
        assert schema.path_for_label(lab.upper()) == c
        assert schema.path_for_label(c) == c
    assert schema.path_for_label("No such column") is None
    assert split_column("OpportunityTeam[3].Phone") == ("OpportunityTeam", 3, "Phone")
    assert schema.sort_columns(["LifeCycle.Stage", "Customer.Contacts[1].Email", "Id", "Customer.Contacts[0].Phone"]) == [
        "Id", "Customer.Contacts[0].Phone", "Customer.Contacts[1].Email", "LifeCycle.Stage"
    ]  # fmt: skip


def test_a_value_named_by_hand_is_checked_against_the_model_under_python_O():
    """The toolkit's values of the model (a task's FAILED, an invitation's PENDING, the sandbox's answers) are checked
    by a raise, which ``python -O`` keeps, naming the shape, the value and botocore's version; an ``assert`` it
    drops."""
    import subprocess
    import sys

    import botocore

    from opptoolkit.schema import shape_value

    assert shape_value("TaskStatus", "FAILED") == "FAILED"
    code = "from opptoolkit.schema import shape_value\ntry:\n shape_value('TaskStatus', 'Failed')\nexcept LookupError as e:\n print(e)"
    p = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.startswith(
        f"botocore {botocore.__version__}'s partnercentral-selling model has no 'Failed' in TaskStatus (its values: "
    ), p.stdout


def test_no_library_module_checks_a_value_of_the_model_with_assert():
    """Every check that a value named by hand is one of the model's enum goes through ``shape_value`` (kept under
    ``python -O``), not ``assert value in ....enum`` (dropped)."""
    import re

    root = Path(ot.__file__).parent
    found = [
        f"{path.relative_to(root)}:{n}"
        for path in sorted(root.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.match(r"\s*assert .* in .*shape_for\(.*\)\.enum", line)
    ]
    assert not found, found
