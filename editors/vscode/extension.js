// The hookpipe VS Code extension: starts `hookpipe lsp` from the configured Python
// environment and adds "hookpipe: Show hook graph". Everything else (diagnostics,
// hover, completion, navigation, rename, formatting, quick fixes) comes from the server.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");
const { graphHtml } = require("./graph-view");

let client;
let output;

async function pythonPath(resource) {
  const configured = vscode.workspace.getConfiguration("hookpipe", resource).get("python");
  if (configured) {
    return configured;
  }
  // The interpreter selected in the Python extension, when it is installed.
  const python = vscode.extensions.getExtension("ms-python.python");
  if (python) {
    try {
      const api = python.isActive ? python.exports : await python.activate();
      const env = api.environments && api.environments.getActiveEnvironmentPath(resource);
      if (env && env.path) {
        return env.path;
      }
    } catch (err) {
      output.appendLine(`hookpipe: could not ask the Python extension for an interpreter: ${err}`);
    }
  }
  return process.platform === "win32" ? "python" : "python3";
}

async function start(context) {
  const resource = vscode.window.activeTextEditor && vscode.window.activeTextEditor.document.uri;
  const command = await pythonPath(resource);
  const extra = vscode.workspace.getConfiguration("hookpipe").get("server.extraArgs") || [];
  const serverOptions = {
    command,
    args: ["-m", "hookpipe.cli", "lsp", ...extra],
    transport: TransportKind.stdio,
  };
  const clientOptions = {
    documentSelector: [{ scheme: "file", language: "pipe" }],
    // No synchronize.fileEvents: the server registers its own file watchers
    // (**/*.pipe, **/pyproject.toml) through client/registerCapability, as with any client.
    outputChannel: output,
  };
  client = new LanguageClient("hookpipe", "hookpipe", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    vscode.window.showErrorMessage(
      `hookpipe: could not start \`${command} -m hookpipe.cli lsp\` (${err}). ` +
        "Install it with pip install 'hookpipe[lsp]' or set hookpipe.python."
    );
  }
}

async function showGraph() {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== "pipe") {
    vscode.window.showInformationMessage("hookpipe: open a .pipe file to see its hook graph");
    return;
  }
  if (!client) {
    vscode.window.showErrorMessage("hookpipe: the language server is not running");
    return;
  }
  const uri = editor.document.uri.toString();
  const result = await client.sendRequest("workspace/executeCommand", {
    command: "hookpipe.renderGraph",
    arguments: [uri],
  });
  if (!result || result.error) {
    vscode.window.showErrorMessage(`hookpipe: ${result ? result.error : "no graph"}`);
    return;
  }
  const name = editor.document.fileName.split(/[\\/]/).pop();
  const panel = vscode.window.createWebviewPanel("hookpipeGraph", `${name}: hook graph`, vscode.ViewColumn.Beside, {
    enableScripts: true, // the fit-and-zoom script only: the page's CSP admits its nonce and nothing else
  });
  panel.webview.html = graphHtml(result.svg);
}

async function activate(context) {
  output = vscode.window.createOutputChannel("hookpipe");
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand("hookpipe.showGraph", showGraph),
    vscode.commands.registerCommand("hookpipe.restartServer", async () => {
      if (client) {
        await client.stop();
      }
      await start(context);
    })
  );
  await start(context);
}

async function deactivate() {
  if (client) {
    await client.stop();
  }
}

module.exports = { activate, deactivate };
