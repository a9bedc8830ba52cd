// CSV reader: see include/dmlp/io/csv.hpp
#include "dmlp/io/csv.hpp"
#include "dmlp/core/settings.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include "dmlp/core/errors.hpp"
#include "dmlp/core/memory.hpp"
#include "dmlp/data/dataset.hpp"
#include "dmlp/io/file_error.hpp"

namespace dmlp {
namespace {

std::string read_whole_file(const std::string& path) {
  require_readable_file(path);
  std::error_code error;
  // the text, and the numbers parsed from it (never more than the text's bytes as float32)
  if (const std::uintmax_t size = std::filesystem::file_size(path, error); !error)
    require_memory(2.0 * double(size), path + " (a CSV file is read whole)");
  std::ifstream in(path, std::ios::binary);
  if (!in) file_error(path, "cannot be opened for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) file_error(path, "read error");
  return std::move(text).str();
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r";
  const std::size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

// Cells between delimiters, trimmed of blanks. With a space as the delimiter,
// a run of blanks separates two cells, as in whitespace-aligned tables.
void split(std::string_view line, char delimiter, std::vector<std::string_view>& cells) {
  cells.clear();
  const bool blank_separated = delimiter == ' ';
  if (blank_separated) line = trim(line);
  const std::string_view separators = blank_separated ? std::string_view(" \t") : std::string_view(&delimiter, 1);
  std::size_t pos = 0;
  while (true) {
    const std::size_t end = std::min(line.find_first_of(separators, pos), line.size());
    cells.push_back(trim(line.substr(pos, end - pos)));
    if (end == line.size()) return;
    pos = blank_separated ? line.find_first_not_of(separators, end) : end + 1;
  }
}

// The file's lines, numbered from 1, without their line ends. Blank lines
// may end the file (a trailing newline); one between rows is refused: rows
// may be missing there (a file cut and joined, a block left empty).
class Lines {
 public:
  Lines(std::string_view text, const std::string& path) : text_(text), path_(path) {
    if (text_.starts_with("\xEF\xBB\xBF")) text_.remove_prefix(3);  // the BOM spreadsheets write
    // Old Mac files end lines with a lone CR
    if (text_.find('\n') == std::string_view::npos && text_.find('\r') != std::string_view::npos) end_of_line_ = '\r';
  }
  // The next line, or false at the end.
  bool next(std::string_view& line, std::int64_t& number) {
    std::int64_t first_blank = 0;
    while (pos_ < text_.size()) {
      const std::size_t end = std::min(text_.find(end_of_line_, pos_), text_.size());
      line = text_.substr(pos_, end - pos_);
      number = ++number_;
      pos_ = end + 1;
      if (trim(line).empty()) {
        if (first_blank == 0) first_blank = number;
        continue;
      }
      if (first_blank > 0 && seen_)
        file_error(path_, "line " + std::to_string(first_blank) +
                              " is blank, between rows; expected a row of numbers (blank lines may only end the file)");
      seen_ = true;
      return true;
    }
    return false;
  }

 private:
  std::string_view text_;
  const std::string& path_;
  std::size_t pos_ = 0;
  std::int64_t number_ = 0;
  bool seen_ = false;
  char end_of_line_ = '\n';
};

// A cell as a message shows it: quoted, with control characters (a NUL, a
// stray CR) written as \xNN instead of cutting or garbling the message.
std::string quoted(std::string_view cell) {
  std::string text = "'";
  for (const char c : cell) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\x%02x", static_cast<unsigned char>(c));
      text += escape;
    } else {
      text += c;
    }
  }
  return text + "'";
}

// How the file's columns map onto the data set, once its width is known.
struct ColumnRoles {
  std::vector<std::size_t> features;
  std::vector<std::size_t> targets;  // regression
  std::size_t label = 0;             // classification
};

class CsvReader {
 public:
  CsvReader(const std::string& path, const CsvLayout& layout) : path_(path), layout_(layout) {}

  CsvDataset read() {
    const std::string text = read_whole_file(path_);
    Lines lines(text, path_);
    std::string_view line;
    std::int64_t number = 0;
    std::vector<std::string_view> cells;
    while (lines.next(line, number)) {
      split(line, layout_.delimiter, cells);
      if (width_ == 0) {
        start(number, cells);
        if (layout_.header) continue;
      }
      add_row(number, cells);
    }
    return finish();
  }

 private:
  bool regression() const { return !layout_.target_columns.empty(); }

  // The first line fixes the width, and so which column does what.
  void start(std::int64_t number, const std::vector<std::string_view>& cells) {
    width_ = cells.size();
    width_line_ = number;
    if (layout_.header) names_.assign(cells.begin(), cells.end());
    assign_roles();
  }

  void assign_roles() {
    const std::string columns =
        std::to_string(width_) + (width_ == 1 ? " column" : " columns") + " (0-" + std::to_string(width_ - 1) + ")";
    std::vector<bool> answer(width_, false);
    if (regression()) {
      for (int c : layout_.target_columns) {
        if (std::size_t(c) >= width_)
          file_error(path_, "target column " + std::to_string(c) + " is not among its " + columns);
        roles_.targets.push_back(std::size_t(c));
        answer[std::size_t(c)] = true;
      }
    } else {
      const int c = layout_.label_column < 0 ? int(width_) - 1 : layout_.label_column;
      if (std::size_t(c) >= width_)
        file_error(path_, "label column " + std::to_string(c) + " is not among its " + columns);
      roles_.label = std::size_t(c);
      answer[std::size_t(c)] = true;
    }
    for (std::size_t c = 0; c < width_; ++c)
      if (!answer[c]) roles_.features.push_back(c);
    if (roles_.features.empty())
      file_error(path_, "has " + columns + ", " + (regression() ? "all of them targets" : "only the label") +
                            "; expected at least one feature column besides");
    if (roles_.features.size() > std::size_t(kMaxWidth))
      file_error(path_, "has " + std::to_string(roles_.features.size()) + " feature columns; expected at most " +
                            std::to_string(kMaxWidth));
  }

  // "data.csv line 17, column 3 (width)", counting from 1 as editors do.
  std::string where(std::int64_t line, std::size_t column) const {
    std::string text = path_ + " line " + std::to_string(line) + ", column " + std::to_string(column + 1);
    if (column < names_.size() && !names_[column].empty()) text += " (" + names_[column] + ")";
    return text;
  }

  [[noreturn]] void bad_cell(std::int64_t line, std::size_t column, const std::string& problem) const {
    throw InputError(where(line, column) + ": " + problem);
  }

  // A finite number that fits float32.
  double number(std::int64_t line, std::size_t column, std::string_view cell) const {
    if (cell.empty()) bad_cell(line, column, "the cell is empty; expected a number");
    std::string_view digits = cell;
    if (digits.size() > 1 && digits[0] == '+' && digits[1] != '-') digits.remove_prefix(1);  // from_chars takes no '+'
    double value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    const std::string shown = quoted(cell);
    if (ec == std::errc::result_out_of_range) bad_cell(line, column, shown + " is out of range for a number");
    if (ec != std::errc{} || end != digits.data() + digits.size()) bad_cell(line, column, shown + " is not a number");
    if (!std::isfinite(value)) bad_cell(line, column, shown + " is not a finite number");
    if (std::abs(value) > double(std::numeric_limits<float>::max()))
      bad_cell(line, column, shown + " is too large for float32");
    return value;
  }

  std::int32_t label(std::int64_t line, std::size_t column, std::string_view cell) const {
    const double value = number(line, column, cell);
    const std::string label_text = "label " + quoted(cell);
    if (value < 0) bad_cell(line, column, label_text + " is negative; expected a class 0, 1, 2, ...");
    if (value != std::floor(value))
      bad_cell(line, column, label_text + " is not an integer; expected a class 0, 1, 2, ...");
    if (layout_.num_classes > 0 && value >= layout_.num_classes)
      bad_cell(line, column,
               label_text + " is not a class in [0, " + std::to_string(layout_.num_classes) + ") (num_classes " +
                   std::to_string(layout_.num_classes) + " was given)");
    if (value >= double(kMaxClasses))
      bad_cell(line, column, label_text + " is too large for a class; expected at most " + std::to_string(kMaxClasses - 1));
    return std::int32_t(value);
  }

  void add_row(std::int64_t line, const std::vector<std::string_view>& cells) {
    if (cells.size() != width_)
      throw InputError(path_ + " line " + std::to_string(line) + " has " + std::to_string(cells.size()) +
                       " columns; expected " + std::to_string(width_) + " like line " + std::to_string(width_line_));
    for (std::size_t c : roles_.features) data_.features.push_back(float(number(line, c, cells[c])));
    if (regression()) {
      for (std::size_t c : roles_.targets) data_.targets.push_back(float(number(line, c, cells[c])));
    } else {
      data_.labels.push_back(label(line, roles_.label, cells[roles_.label]));
      max_label_ = std::max(max_label_, data_.labels.back());
    }
    ++data_.shape.rows;
  }

  CsvDataset finish() {
    if (width_ == 0)
      file_error(path_, std::string("the file is empty; expected ") + (layout_.header ? "a header line and " : "") +
                            "rows of numbers");
    if (data_.shape.rows == 0) file_error(path_, "has a header line but no data rows; expected at least one");
    DataShape& shape = data_.shape;
    shape.features = int(roles_.features.size());
    if (regression()) {
      shape.task = TaskKind::Regression;
      shape.targets = int(roles_.targets.size());
    } else {
      shape.task = TaskKind::Classification;
      shape.num_classes = layout_.num_classes > 0 ? layout_.num_classes : max_label_ + 1;
    }
    return std::move(data_);
  }

  std::string path_;
  CsvLayout layout_;
  std::size_t width_ = 0;  // columns per line; 0 until the first line
  std::int64_t width_line_ = 0;
  std::vector<std::string> names_;  // from the header, if any
  ColumnRoles roles_;
  std::int32_t max_label_ = 0;
  CsvDataset data_;
};

}  // namespace

std::vector<int> parse_column_list(std::string_view text, const std::string& option) {
  const std::string whole = "'" + std::string(text) + "'";
  std::vector<int> columns;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string_view item = trim(text.substr(pos, comma - pos));
    int value = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || ec != std::errc{} || end != item.data() + item.size())
      throw InputError(option + ": '" + std::string(item) + "' in " + whole +
                       " is not a column number (expected 0-based columns, e.g. 3 or 3,4)");
    if (value < 0)
      throw InputError(option + ": column " + std::to_string(value) + " in " + whole +
                       " must be >= 0 (columns count from 0)");
    if (std::find(columns.begin(), columns.end(), value) != columns.end())
      throw InputError(option + ": column " + std::to_string(value) + " appears twice in " + whole);
    columns.push_back(value);
    pos = comma + 1;
  }
  return columns;
}

void validate(const CsvLayout& layout) {
  const char d = layout.delimiter;
  // A delimiter that can occur inside a number would split numbers apart.
  if (d == '\0' || d == '\n')
    throw InputError(setting("delimiter") + (d == '\0' ? " is empty" : " is a line break") +
                     "; expected a separator such as , ; or a tab");
  if (std::string_view("0123456789.+-eE").find(d) != std::string_view::npos)
    throw InputError(setting("delimiter") + " '" + d + "' can be part of a number; expected a separator such as , ; or a tab");
  if (layout.label_column < -1)
    throw InputError(setting("label_column") + " " + std::to_string(layout.label_column) +
                     ": expected a 0-based column, or -1 for the last column");
  if (layout.num_classes < 0)
    throw InputError(setting("num_classes") + " " + std::to_string(layout.num_classes) +
                     " must be >= 0 (0: the largest label + 1)");
  if (layout.num_classes > kMaxClasses)
    throw InputError(setting("num_classes") + " " + std::to_string(layout.num_classes) + " is more than the " +
                     std::to_string(kMaxClasses) + " classes a data set may have");
  if (layout.target_columns.size() > std::size_t(kMaxWidth))
    throw InputError(setting("target_columns") + " lists " + std::to_string(layout.target_columns.size()) +
                     " columns; at most " + std::to_string(kMaxWidth));
}

CsvDataset read_csv_dataset(const std::string& path, const CsvLayout& layout) {
  validate(layout);
  return CsvReader(path, layout).read();
}

}  // namespace dmlp
