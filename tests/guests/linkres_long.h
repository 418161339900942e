/* A very long interface name for the guests linkres_long_a.c and linkres_long_b.c and
 * tests/wit/test_link_res.c: the qualified names built from it ("IFACE#[dtor]counter") run
 * past any fixed-size buffer, so a destructor found through a cut name would not run. */
#ifndef LINKRES_LONG_H
#define LINKRES_LONG_H
#define RES_LONG_LABEL                                                                             \
  "interface-with-a-very-long-name-that-must-never-be-cut-short-with-a-very-long-name-that-must-"  \
  "never-be-cut-short-with-a-very-long-name-that-must-never-be-cut-short-with-a-very-long-name-"   \
  "that-must-never-be-cut-short-with-a-very-long-name-that-must-never-be-cut-short-with-a-very-"   \
  "long-name-that-must-never-be-cut-short-with-a-very-long-name-that-must-never-be-cut-short"
#define RES_IFACE "t:res/" RES_LONG_LABEL "@1.0.0"
#endif
