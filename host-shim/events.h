/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Task events for containerd: Events.Forward on $TTRPC_ADDRESS, one at a
 * time and in the order they were published (create -> start -> exit ->
 * delete is a MUST), each retried a few times with growing delays and a
 * reconnect.  Without an address (CRI-O) events are only logged.
 */
#ifndef HUSK_SHIM_EVENTS_H
#define HUSK_SHIM_EVENTS_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>

#include "evloop.h"

struct events;

/* @address: $TTRPC_ADDRESS (path or unix:// URL), may be NULL or "". */
struct events *events_new(struct evloop *loop, const char *address,
			  const char *ns);
void events_free(struct events *ev);

/*
 * Queue @msg (e.g. a containerd.events.TaskExit) under @topic
 * ("/tasks/exit").  It is encoded now, with the current time.
 */
void events_publish(struct events *ev, const char *topic,
		    const ProtobufCMessage *msg);

/* Nothing queued or in flight. */
bool events_idle(const struct events *ev);

#endif
