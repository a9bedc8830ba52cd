// CSV reader: see include/dmlp/io/csv.hpp
