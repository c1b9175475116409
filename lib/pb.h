/* SPDX-License-Identifier: Apache-2.0 */
/* protobuf-c helpers both tiers use. */
#ifndef HUSK_PB_H
#define HUSK_PB_H

#include <protobuf-c/protobuf-c.h>

/* Deep copy a message by packing and unpacking it; free the copy with
 * protobuf_c_message_free_unpacked(copy, NULL).  Aborts only if the
 * message just packed does not unpack, which cannot happen. */
void *pb_dup(const ProtobufCMessage *m);

#endif
