/* ein.y — placeholder grammar (replaced by the front-end work): accepts an empty program. */
%define api.pure full
%define api.prefix {ein_yy}
%locations
%param {void *scanner}
%code requires { }
%code { int ein_yylex(EIN_YYSTYPE *lval, EIN_YYLTYPE *lloc, void *scanner);
        static void ein_yyerror(EIN_YYLTYPE *lloc, void *scanner, const char *msg) { (void)lloc; (void)scanner; (void)msg; } }
%token END 0
%%
program: %empty ;
%%
