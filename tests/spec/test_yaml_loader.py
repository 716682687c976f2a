import pytest
from conftest import write

from fer_bench.errors import UserError
from fer_bench.spec.yaml_loader import load_yaml


def test_numbers_as_users_write_them(tmp_path):
    doc = load_yaml(write(tmp_path / "s.yaml", "a: 5e-4\nb: 1E5\nc: 0.25\nd: 3\ne: '5e-4'\nf: 1.0e-3\n"))
    assert doc == {"a": 0.0005, "b": 100000.0, "c": 0.25, "d": 3, "e": "5e-4", "f": 0.001}


def test_duplicate_keys_are_rejected_with_both_lines(tmp_path):
    path = write(tmp_path / "s.yaml", "name: x\ntraining:\n  epochs: 1\n  epochs: 2\n")
    with pytest.raises(UserError, match=r"line 4.*duplicate key 'epochs' \(first at line 3\)"):
        load_yaml(path)


def test_python_tags_are_refused(tmp_path):
    path = write(tmp_path / "s.yaml", "name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(UserError, match="is not allowed"):
        load_yaml(path)


def test_syntax_error_names_the_line(tmp_path):
    with pytest.raises(UserError, match=r"s.yaml: line 2"):
        load_yaml(write(tmp_path / "s.yaml", "a: [1, 2\nb: 3\n"))


def test_non_utf8_is_named(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(UserError, match="not UTF-8"):
        load_yaml(path)
