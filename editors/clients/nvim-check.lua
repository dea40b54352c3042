-- The Neovim check of docs/editor.md: run in a workspace made by workspace.sh, after a
-- configuration from docs/editor.md:  nvim --headless --clean -n -u CONFIG.lua -c "luafile PATH/TO/nvim-check.lua"
-- Prints bad.pipe's diagnostics, the completion of `every`/`from`, and a.pipe's diagnostics
-- after b.pipe changes on disk (they come only where Neovim watches files).
local function out(s) io.stdout:write(s .. "\n") end
out("nvim " .. tostring(vim.version()))
vim.cmd("edit bad.pipe")
local ok = vim.wait(20000, function() return #vim.diagnostic.get(0) > 0 end, 50)
out("bad.pipe diagnostics (" .. tostring(ok) .. "):")
for _, d in ipairs(vim.diagnostic.get(0)) do
  out(string.format("  %d:%d %s %s", d.lnum + 1, d.col + 1, tostring(d.code), (d.message:gsub("\n.*", ""))))
end
local client = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = 0 })[1] or vim.lsp.get_active_clients({ bufnr = 0 })[1]
out("client: " .. (client and client.name or "none") .. " root " .. tostring(client and client.config.root_dir))
-- completion after `speed every 50 steps ` -> modifiers; look at `every`
local row
for i, l in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do if l:match("^%s+save%s+every") then row = i end end
local line = vim.api.nvim_buf_get_lines(0, row - 1, row, false)[1]
local params = { textDocument = { uri = vim.uri_from_bufnr(0) }, position = { line = row - 1, character = #(line:match("^%s+save")) + 1 } }
vim.api.nvim_buf_set_lines(0, row - 1, row, false, { line:match("^%s+save") .. " " })
vim.wait(300)
local res = vim.lsp.buf_request_sync(0, "textDocument/completion", params, 5000)
for _, r in pairs(res or {}) do
  for _, item in ipairs((r.result or {}).items or r.result or {}) do
    if item.label == "every" or item.label == "from" then
      out(string.format("  completion %s -> %q (format %s)", item.label, item.insertText or item.label, tostring(item.insertTextFormat)))
    end
  end
end
vim.cmd("edit! a.pipe")
ok = vim.wait(20000, function() return client and client.initialized end, 50)
vim.wait(1500)
out("a.pipe diagnostics before: " .. #vim.diagnostic.get(0))
local f = io.open("b.pipe", "r"); local text = f:read("*a"); f:close()
f = io.open("b.pipe", "w"); f:write((text:gsub("hook clip ", "hook clipper "))); f:close()
ok = vim.wait(15000, function() return #vim.diagnostic.get(0) > 0 end, 50)
out("a.pipe after b.pipe changed on disk (" .. tostring(ok) .. "):")
for _, d in ipairs(vim.diagnostic.get(0)) do
  out(string.format("  %d:%d %s %s", d.lnum + 1, d.col + 1, tostring(d.code), (d.message:gsub("\n.*", ""))))
end
f = io.open("b.pipe", "w"); f:write(text); f:close()
vim.cmd("qa!")
