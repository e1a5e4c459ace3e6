// Whole files read into memory: lists, secrets, saved pages. Errors name the file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <limits>
#include <string>

#include "base/result.h"

namespace pbxwall {

// The bytes of `path`; an error when it cannot be read or holds more than `max_bytes`.
Result<std::string> read_file_text(const std::filesystem::path& path,
                                   std::size_t max_bytes = std::numeric_limits<std::size_t>::max());

// A secret kept alone in a file (a password, an API key): its one line without the line end
// and trailing blanks. An empty file or one of more lines is an error.
Result<std::string> read_secret_line(const std::filesystem::path& path);

}  // namespace pbxwall
