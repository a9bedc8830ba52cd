// IDX reader: see include/dmlp/io/idx.hpp
