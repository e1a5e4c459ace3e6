// Trunk name resolution: the Resolver boundary, its c-ares implementation and the pure
// TrunkResolver that decides what to ask when.
#pragma once

#include "dns/cares_resolver.h"
#include "dns/resolver.h"
#include "dns/trunk_resolver.h"
