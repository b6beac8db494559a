"""Compliance rules (pure): a vehicle's fixes, its motion split and its context in, findings
out. One module per rule family; each rule is vectorised over the fixes with numpy and
shapely 2 (no per-fix Python loop)."""
