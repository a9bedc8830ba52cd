#pragma once
// Numeric CSV files as data sets: one row per sample, every cell a number.
// The features are all columns but the answer: one label column holding an
// integer class (classification), or one or more target columns (regression).
//
// Columns are chosen counting from 0 (--label-column 0 is the first column);
// messages point into the text as an editor does, counting lines and columns
// from 1 ("data.csv line 17, column 3: 'abc' is not a number").
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dmlp/data/dataset.hpp"

namespace dmlp {

struct CsvLayout {
  bool header = false;              // the first line names the columns
  char delimiter = ',';             // ' ': a run of blanks separates cells (aligned tables)
  int label_column = -1;            // classification: 0-based; -1: the last column
  std::vector<int> target_columns;  // regression when not empty: 0-based, in the targets' order
  int num_classes = 0;              // 0: the largest label + 1
};

// Parses "3" or "3,4" (0-based column numbers, no repeats); throws InputError
// naming `option`.
std::vector<int> parse_column_list(std::string_view text, const std::string& option);

// The rows as read: features (rows, d), and labels (rows) or targets (rows, k).
struct CsvDataset {
  DataShape shape;
  std::vector<float> features;
  std::vector<std::int32_t> labels;
  std::vector<float> targets;
};

// Throws InputError for a layout no file could satisfy (a delimiter that can be
// part of a number, label column below -1, negative --num-classes).
void validate(const CsvLayout& layout);

// Reads and checks the whole file. Throws InputError naming the file, the line
// and the column of the first cell that is not a finite number, the first row
// whose width differs from the first row's, a label that is not a class
// (negative, fractional, or at least num_classes), or a file without data rows.
CsvDataset read_csv_dataset(const std::string& path, const CsvLayout& layout);

}  // namespace dmlp
