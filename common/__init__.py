"""The bottom layer every hrtrack package may use: atomic files, checked downloads, one JSON/YAML
reader, the typed config loader and the CLI runner. It imports no other hrtrack package."""
