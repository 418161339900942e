# SQLite and variables for the app host (src/host/sqlite*, variables*, wasi_config*).
LDLIBS_EXTRA += -lsqlite3
