-- Drives the iptables language server from a real Neovim (headless): opens the file named by
-- IPTABLES_LSP_FILE, starts `node IPTABLES_LSP_CLI lsp --stdio`, waits for the pushed diagnostics,
-- sends the requests listed in the JSON file IPTABLES_LSP_REQUESTS through Neovim's own LSP client,
-- edits the buffer (so Neovim sends incremental changes) and waits for the new diagnostics, then
-- writes everything as JSON to IPTABLES_LSP_OUT and quits. The Node test judges the results.
local cli = os.getenv('IPTABLES_LSP_CLI')
local file = os.getenv('IPTABLES_LSP_FILE')
local requests = vim.fn.json_decode(table.concat(vim.fn.readfile(os.getenv('IPTABLES_LSP_REQUESTS')), '\n'))
local out_path = os.getenv('IPTABLES_LSP_OUT')
local edit = vim.fn.json_decode(os.getenv('IPTABLES_LSP_EDIT'))

local result = { diagnostics = {}, responses = {}, after_edit = {}, errors = {} }

local function finish()
  vim.fn.writefile({ vim.fn.json_encode(result) }, out_path)
  vim.cmd('qall!')
end

local function codes(buf)
  local list = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    local code = d.code
    if code == nil and d.user_data and d.user_data.lsp then code = d.user_data.lsp.code end
    table.insert(list, { code = code, line = d.lnum, character = d.col })
  end
  return list
end

local ok, err = pcall(function()
  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].filetype = 'iptables'
  local client_id = vim.lsp.start_client({
    name = 'iptables-lsp',
    cmd = { 'node', cli, 'lsp', '--stdio' },
    root_dir = vim.fn.fnamemodify(file, ':h'),
    -- The rule-set analysis publishes its findings after the validity diagnostics, and fixing the
    -- file's error lets it analyse one more table: this test is about the protocol, so it checks
    -- validity alone (test/lsp-analysis.test.ts covers the analysis in the editor).
    settings = { iptables = { analyses = { ruleSet = false } } },
    -- Neovim 0.7 leaves sending the settings to the configuration.
    on_init = function(c) c.notify('workspace/didChangeConfiguration', { settings = c.config.settings }) end,
  })
  assert(client_id, 'the language server did not start')
  vim.lsp.buf_attach_client(buf, client_id)
  local client = vim.lsp.get_client_by_id(client_id)
  if not vim.wait(15000, function() return #vim.diagnostic.get(buf) > 0 end, 20) then
    table.insert(result.errors, 'no diagnostics within 15 s')
  end
  result.diagnostics = codes(buf)
  local uri = vim.uri_from_bufnr(buf)
  for _, r in ipairs(requests) do
    local params = r.params
    params.textDocument = { uri = uri }
    local resp, req_err = client.request_sync(r.method, params, 10000, buf)
    if resp == nil then
      table.insert(result.responses, { method = r.method, error = tostring(req_err) })
    else
      table.insert(result.responses, { method = r.method, result = resp.result or vim.NIL, error = resp.err and resp.err.message or vim.NIL })
    end
  end
  -- An edit through the buffer API: Neovim sends it as an incremental change.
  local before = vim.inspect(vim.diagnostic.get(buf))
  vim.api.nvim_buf_set_lines(buf, edit.line, edit.line, false, { edit.text })
  if not vim.wait(15000, function() return vim.inspect(vim.diagnostic.get(buf)) ~= before end, 20) then
    table.insert(result.errors, 'diagnostics did not change after the edit')
  end
  result.after_edit = codes(buf)
  vim.lsp.stop_client(client_id)
end)
if not ok then table.insert(result.errors, tostring(err)) end
finish()
