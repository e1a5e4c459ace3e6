#include "pbx/asterisk_config.h"

#include <algorithm>
#include <cctype>

namespace pbxwall::pbx {
namespace {

constexpr int kMaxIncludeDepth = 32;
constexpr int kMaxCommentNesting = 10;  // Asterisk's MAX_NESTED_COMMENTS

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view strip(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// One file's worth of parsing state; sections and the current section are shared across
// includes, because an #include inside a section continues that section (as in Asterisk).
class Loader {
 public:
  Loader(const FileSystem& fs, std::string root, Diagnostics& diags, AsteriskConfig& out)
      : fs_(fs), root_(std::move(root)), diags_(diags), out_(out) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  }

  std::string resolve(const std::string& name) const {
    if (!name.empty() && name.front() == '/') return name;
    return root_ + "/" + name;
  }

  // Returns false when the file could not be read.
  bool load_file(const std::string& path, std::string* why) {
    auto text = fs_.read(path);
    if (!text) {
      if (why) *why = text.error();
      return false;
    }
    out_.files_read.push_back(path);
    stack_.push_back(path);
    parse(path, *text);
    stack_.pop_back();
    return true;
  }

 private:
  void report(Severity sev, const std::string& file, int line, std::string message, std::string key = {}) {
    Diagnostic d;
    d.severity = sev;
    d.file = file;
    d.line = line;
    d.key = std::move(key);
    d.message = std::move(message);
    diags_.push_back(std::move(d));
  }

  // Splits the text into lines and removes comments, keeping the block-comment level across
  // lines. What remains of each line (text before ";--" and after "--;" joined) is processed
  // under that line's number.
  void parse(const std::string& file, std::string_view text) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
    int level = 0;
    int opened_at = 0;
    int line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
      auto end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view raw = text.substr(pos, end - pos);
      pos = end + 1;
      ++line_no;
      std::string kept;
      std::size_t i = 0;
      while (i < raw.size()) {
        const char c = raw[i];
        if (c == '\\' && i + 1 < raw.size() && raw[i + 1] == ';') {  // "\;" is a literal ';'
          if (level == 0) kept += ';';
          i += 2;
          continue;
        }
        if (c != ';') {
          if (level == 0) kept += c;
          ++i;
          continue;
        }
        const bool opens = raw.substr(i, 3) == ";--" && raw.substr(i + 3, 1) != "-";
        if (opens) {
          if (level < kMaxCommentNesting) {
            if (level == 0) opened_at = line_no;
            ++level;
          } else {
            report(Severity::warning, file, line_no,
                   "block comments nested deeper than " + std::to_string(kMaxCommentNesting) + " levels");
          }
          i += 3;
          continue;
        }
        if (level > 0) {
          // "--;" closes a level; the dashes must not be those of the opening ";--".
          const bool closes = i >= 2 && raw[i - 1] == '-' && raw[i - 2] == '-' && !(i >= 3 && raw.substr(i - 3, 3) == ";--");
          if (closes) --level;
          ++i;
          continue;
        }
        break;  // an ordinary comment: the rest of the line is ignored
      }
      auto line = strip(kept);
      if (!line.empty()) process_line(file, line_no, line);
    }
    if (level > 0)
      report(Severity::warning, file, opened_at, "block comment ';--' is not closed before the end of the file");
  }

  void process_line(const std::string& file, int line_no, std::string_view line) {
    if (line.front() == '[') return process_section(file, line_no, line);
    if (line.front() == '#') return process_directive(file, line_no, line);
    process_variable(file, line_no, line);
  }

  ConfigSection* find_by_name(std::string_view name, const ConfigSection* except) {
    for (auto& s : out_.sections)
      if (&s != except && iequals(s.name, name)) return &s;
    return nullptr;
  }

  void reject_section() {
    current_ = -1;
    in_rejected_section_ = true;
  }

  void process_section(const std::string& file, int line_no, std::string_view line) {
    in_rejected_section_ = false;
    const auto close = line.find(']');
    if (close == std::string_view::npos) {
      reject_section();  // Asterisk rejects the whole file here; we skip this section only
      report(Severity::error, file, line_no, "no closing ']' in section header");
      return;
    }
    ConfigSection section;
    section.name = std::string(line.substr(1, close - 1));
    section.file = file;
    section.line = line_no;
    if (section.name.empty()) {
      reject_section();
      report(Severity::error, file, line_no, "empty section name");
      return;
    }
    std::string_view rest = line.substr(close + 1);
    bool addition = false;
    if (!rest.empty() && rest.front() == '(') {
      const auto paren = rest.find(')');
      if (paren == std::string_view::npos) {
        reject_section();
        report(Severity::error, file, line_no, "no closing ')' after section options", section.name);
        return;
      }
      std::string_view options = rest.substr(1, paren - 1);
      while (true) {
        const auto comma = options.find(',');
        const auto option = strip(options.substr(0, comma));
        if (option == "!") {
          section.is_template = true;
        } else if (option == "+") {
          addition = true;
        } else if (!option.empty()) {
          const ConfigSection* base = find_by_name(option, nullptr);
          if (!base) {
            report(Severity::error, file, line_no,
                   "inherits from '" + std::string(option) + "', which is not defined above", section.name);
          } else {
            section.templates.push_back(std::string(option));
            for (auto v : base->variables) {
              v.inherited = true;
              section.variables.push_back(std::move(v));
            }
          }
        }
        if (comma == std::string_view::npos) break;
        options.remove_prefix(comma + 1);
      }
    }
    if (addition) {
      ConfigSection* earlier = find_by_name(section.name, nullptr);
      if (!earlier) {
        reject_section();
        report(Severity::error, file, line_no,
               "(+) adds to section '" + section.name + "', which is not defined above", section.name);
        return;
      }
      for (auto& v : section.variables) earlier->variables.push_back(std::move(v));
      current_ = static_cast<int>(earlier - out_.sections.data());
      return;
    }
    out_.sections.push_back(std::move(section));
    current_ = static_cast<int>(out_.sections.size()) - 1;
  }

  void process_directive(const std::string& file, int line_no, std::string_view line) {
    line.remove_prefix(1);
    std::size_t name_end = 0;
    while (name_end < line.size() && !is_space(line[name_end])) ++name_end;
    const std::string directive(line.substr(0, name_end));
    std::string_view argument = strip(line.substr(name_end));
    const bool include = iequals(directive, "include");
    const bool try_include = iequals(directive, "tryinclude");
    if (iequals(directive, "exec") || iequals(directive, "tryexec")) {
      report(Severity::warning, file, line_no, "#" + directive + " runs a command; its output is not read");
      return;
    }
    if (!include && !try_include) {
      report(Severity::warning, file, line_no, "unknown directive '#" + directive + "'");
      return;
    }
    if (argument.empty()) {
      report(Severity::error, file, line_no, "#" + directive + " needs a file name");
      return;
    }
    if (argument.size() >= 2 && ((argument.front() == '"' && argument.back() == '"') ||
                                 (argument.front() == '<' && argument.back() == '>'))) {
      argument = argument.substr(1, argument.size() - 2);
    }
    include_files(file, line_no, std::string(argument), try_include);
  }

  void include_files(const std::string& file, int line_no, const std::string& name, bool optional) {
    const std::string target = resolve(name);
    std::vector<std::string> paths;
    if (has_glob_magic(target)) {
      paths = fs_.glob(target);
    } else {
      paths.push_back(target);
    }
    if (paths.empty()) {
      out_.files_missing.push_back(target);
      if (!optional) report(Severity::error, file, line_no, "#include " + name + ": no file matches " + target);
      return;
    }
    for (const auto& path : paths) {
      if (std::find(stack_.begin(), stack_.end(), path) != stack_.end()) {
        std::string chain;
        for (const auto& f : stack_) chain += f + " -> ";
        report(Severity::error, file, line_no, "include loop: " + chain + path);
        continue;
      }
      if (static_cast<int>(stack_.size()) >= kMaxIncludeDepth) {
        report(Severity::error, file, line_no,
               "includes nested deeper than " + std::to_string(kMaxIncludeDepth) + " files");
        continue;
      }
      std::string why;
      if (!load_file(path, &why)) {
        out_.files_missing.push_back(path);
        if (!optional) report(Severity::error, file, line_no, "#include " + name + ": cannot read " + path + ": " + why);
      }
    }
  }

  void process_variable(const std::string& file, int line_no, std::string_view line) {
    if (current_ < 0) {
      // After a rejected section header its lines are skipped without one error each.
      if (!in_rejected_section_) report(Severity::error, file, line_no, "variable outside any [section]");
      return;
    }
    std::size_t start = 0;
    if (line.front() == '\\') {  // an escaped first character lets a name start with [ or #
      if (line.size() < 2 || static_cast<unsigned char>(line[1]) < 33) {
        report(Severity::error, file, line_no, "invalid escape at the start of the line");
        return;
      }
      start = 1;
    }
    const auto eq = line.find('=', start + 1);
    if (eq == std::string_view::npos) {
      report(Severity::warning, file, line_no, "no '=' in line; ignored");
      return;
    }
    auto& section = out_.sections[static_cast<std::size_t>(current_)];
    const bool append = line[eq - 1] == '+' && eq - 1 > start;
    std::string_view name = strip(line.substr(start, (append ? eq - 1 : eq) - start));
    std::string_view value = line.substr(eq + 1);
    bool object = false;
    if (!append && !value.empty() && value.front() == '>') {
      object = true;
      value.remove_prefix(1);
    }
    value = strip(value);
    if (name.empty()) {
      report(Severity::warning, file, line_no, "no name before '='; ignored");
      return;
    }
    if (append) {
      for (auto it = section.variables.rbegin(); it != section.variables.rend(); ++it) {
        if (iequals(it->name, name)) {
          it->value += value;
          return;
        }
      }
    }
    ConfigVariable v;
    v.name = std::string(name);
    v.value = std::string(value);
    v.file = file;
    v.line = line_no;
    v.object = object;
    section.variables.push_back(std::move(v));
  }

  const FileSystem& fs_;
  std::string root_;
  Diagnostics& diags_;
  AsteriskConfig& out_;
  std::vector<std::string> stack_;
  int current_ = -1;
  bool in_rejected_section_ = false;
};

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool asterisk_true(std::string_view v) {
  v = strip(v);
  return iequals(v, "yes") || iequals(v, "true") || iequals(v, "y") || iequals(v, "t") || iequals(v, "1") ||
         iequals(v, "on");
}

const ConfigVariable* ConfigSection::find(std::string_view variable) const {
  for (auto it = variables.rbegin(); it != variables.rend(); ++it)
    if (iequals(it->name, variable)) return &*it;
  return nullptr;
}

std::vector<const ConfigVariable*> ConfigSection::find_all(std::string_view variable) const {
  std::vector<const ConfigVariable*> out;
  for (const auto& v : variables)
    if (iequals(v.name, variable)) out.push_back(&v);
  return out;
}

const ConfigSection* AsteriskConfig::find_section(std::string_view name) const {
  for (const auto& s : sections)
    if (!s.is_template && iequals(s.name, name)) return &s;
  return nullptr;
}

AsteriskConfig load_asterisk_config(const FileSystem& fs, const std::string& root, const std::string& file_name,
                                    Diagnostics& diagnostics) {
  AsteriskConfig out;
  Loader loader(fs, root, diagnostics, out);
  out.found = loader.load_file(loader.resolve(file_name), nullptr);
  return out;
}

}  // namespace pbxwall::pbx
