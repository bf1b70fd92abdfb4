" Vim: .ein files are ein experiments (tools/editor/README.md)
autocmd BufRead,BufNewFile *.ein setfiletype ein
