" Vim syntax for ein experiment files (.ein) — docs/language.md
if exists("b:current_syntax")
  finish
endif

syn keyword einKeyword import experiment def in if then else and or not
syn keyword einStatement data network norm loss train grid report figure
syn keyword einContextual input hidden output forward backward weight updates zip sample seed table where x
syn keyword einBoolean true false none
syn keyword einNorm layernorm layernorm_fwd center scale inorm inorm_sub full decorrelate fa_center gradnorm
syn keyword einMetric test_acc train_acc task_loss inorm_loss moments cos_ln_out cos_ln_grad weights
syn keyword einFigure scatter box curve sweep
syn match einNumber "\<\d\+\(\.\d*\)\=\([eE][-+]\=\d\+\)\=\>"
syn match einNumber "\.\d\+\([eE][-+]\=\d\+\)\=\>"
syn match einOperator "\.\.\|==\|!=\|<=\|>=\|[-+*/%^<>=~]"
syn region einString start=+"+ skip=+\\\\\|\\"+ end=+"+ contains=einEscape oneline
syn match einEscape contained "\\[nt\\"]"
syn match einComment "#.*$" contains=einTodo
syn keyword einTodo contained TODO FIXME XXX
syn match einFunction "\<\h\w*\ze\s*("

hi def link einKeyword Keyword
hi def link einStatement Statement
hi def link einContextual Type
hi def link einBoolean Boolean
hi def link einNorm Constant
hi def link einMetric Identifier
hi def link einFigure Constant
hi def link einNumber Number
hi def link einOperator Operator
hi def link einString String
hi def link einEscape SpecialChar
hi def link einComment Comment
hi def link einTodo Todo
hi def link einFunction Function

let b:current_syntax = "ein"
