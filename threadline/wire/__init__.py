"""Wire schemas: msgspec Structs named as in the Inkeep reference. No I/O here.

Structs ending in `In` are request bodies, `Out` are response bodies. Absent and null are kept
apart with `UNSET`, because the official SDK rejects a null where a key must be absent and the
reverse (reference §10.12).
"""
