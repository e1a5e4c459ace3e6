// The pbx module: Asterisk/FreePBX configuration readers and discovery of the PBX's ports
// and trunks. Pure: files are read through the FileSystem passed in.
#pragma once

#include "pbx/asterisk_config.h"
#include "pbx/discovery.h"
#include "pbx/discovery_report.h"
#include "pbx/filesystem.h"
#include "pbx/host.h"
