"""transformers 4.57.6 declares huggingface-hub<1.0; the local mirror only has hub 1.x.
Local-folder loading works with hub 1.33, so drop that single entry from the runtime
version check table (transformers/dependency_versions_table.py) inside the venv only."""
import pathlib, re, importlib.util
spec = importlib.util.find_spec("transformers")
p = pathlib.Path(spec.origin).parent / "dependency_versions_table.py"
src = p.read_text()
new = re.sub(r'"huggingface-hub": "huggingface-hub[^"]*"', '"huggingface-hub": "huggingface-hub>=0.34.0"', src)
p.write_text(new)
print("relaxed huggingface-hub pin in", p, "(changed)" if new != src else "(already relaxed)")
