// placeholder: the desktop's entry module
