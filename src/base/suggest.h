// "did you mean" for a word that nearly names something known: a mistyped command, key or section.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pbxwall {

// Edit distance of two short words: insertions, deletions, substitutions and swaps of two
// neighbouring letters ("stauts" is one edit from "status") each count one.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate `word` is a near miss of: at most two edits away and fewer edits than the word
// has letters; the first nearest one. nullopt when none is that near or `word` is a candidate.
std::optional<std::string> near_miss(std::string_view word, const std::vector<std::string>& candidates);

// The words of a list written "a, b, c".
std::vector<std::string> listed_words(std::string_view list);

// The message for a key that names nothing: "unknown key (known: a, b)", or with a near miss
// "unknown key; did you mean 'enumeration_users'? (known: ...)". `what` is "key" or "section".
std::string unknown_name(std::string_view what, std::string_view word, std::string_view known_list);

}  // namespace pbxwall
