"""Built-in hooks (SPEC section 5), at the import paths the compiler's catalog names."""
