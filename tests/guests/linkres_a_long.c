/* tests/guests/linkres_a.c with an interface name of over 300 bytes: the destructor's export
 * name "IFACE#[dtor]counter" must be found whole (tests/wit/test_link_res.c). */
#define RES_IFACE                                                                                  \
  "t:res/"                                                                                         \
  "segment00-segment01-segment02-segment03-segment04-segment05-segment06-segment07-segment08-"     \
  "segment09-segment10-segment11-segment12-segment13-segment14-segment15-segment16-segment17-"     \
  "segment18-segment19-segment20-segment21-segment22-segment23-segment24-segment25-segment26-"     \
  "segment27-segment28-segment29-segment30-segment31-segment32-segment33-segment34-segment35-"     \
  "segment36-segment37-segment38-segment39@1.0.0"
#include "linkres_a.c"
