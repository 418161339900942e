/* Task events for containerd (/tasks/create, /tasks/start, /tasks/exit, /tasks/delete),
 * sent through the binary containerd names with -publish-binary:
 *
 *   BINARY --address ADDRESS publish --topic TOPIC --namespace NS   (stdin: a protobuf Any)
 *
 * One thread sends them in the order they were queued, so an exit never overtakes its start;
 * zh_shim_events_free waits until the queue is empty, so the exit event of a task is out
 * before the shim leaves. A failed publish is logged and dropped.
 *
 * Ownership: the queue owns copies of everything it is given. */
#ifndef ZH_SHIM_EVENTS_H
#define ZH_SHIM_EVENTS_H

#include "shim/log.h"
#include "zerohop/engine.h"

#include <stddef.h>
#include <stdint.h>

typedef struct zh_shim_events zh_shim_events;

/* binary NULL or "": events are dropped (a shim run by hand). */
zh_error *zh_shim_events_new(const char *binary, const char *address, const char *ns,
                             zh_shim_log_fn log, void *log_env, zh_shim_events **out);
/* Queues one event: type_url is "containerd.events.TaskExit" etc., value its encoding. */
void zh_shim_events_publish(zh_shim_events *ev, const char *topic, const char *type_url,
                            const uint8_t *value, size_t len);
/* Sends what is queued, then stops the thread and frees. Accepts NULL. */
void zh_shim_events_free(zh_shim_events *ev);

#endif
