// The ami module: Asterisk Manager Interface wire parser, typed events and action
// serializer. Pure (bytes in, values out); the socket client lives beside it.
#pragma once

#include "ami/actions.h"
#include "ami/events.h"
#include "ami/client.h"
#include "ami/message.h"
