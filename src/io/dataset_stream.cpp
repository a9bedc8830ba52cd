// placeholder: split out of dataset_file.cpp
