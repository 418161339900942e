# Key-value for the app host (src/host/kv*, src/host/wasi_keyvalue.c, docs/HOST.md):
# Debian's SQLite for the default store and hiredis for stores the runtime config maps to Redis.
LDLIBS_EXTRA += -lsqlite3 -lhiredis
