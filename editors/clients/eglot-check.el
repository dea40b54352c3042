;;; eglot-check.el --- the Emacs check of docs/editor.md  -*- lexical-binding: t -*-
;; Run in a workspace made by workspace.sh, in a terminal (file watching needs Emacs's
;; command loop, so not --batch), after the configuration from docs/editor.md:
;;   emacs -nw -q -l hookpipe.el -l PATH/TO/eglot-check.el
;; It writes to $HOOKPIPE_CHECK_OUT (default eglot-check.txt): bad.pipe's diagnostics,
;; the completion of `every'/`from', and a.pipe's diagnostics after b.pipe changes on
;; disk, then quits.
(require 'eglot)
(defvar out-file (expand-file-name (or (getenv "HOOKPIPE_CHECK_OUT") "eglot-check.txt")))
(defun out (fmt &rest args) (append-to-file (concat (apply #'format fmt args) "\n") nil out-file))
(defun diags (buf) (with-current-buffer buf
  (mapcar (lambda (d) (format "%d:%s" (line-number-at-pos (flymake-diagnostic-beg d))
                              (car (split-string (flymake-diagnostic-text d) "\n")))) (flymake-diagnostics))))
(defvar a-buf nil)
(defvar tries 0)
(defun step0 ()
  "Wait (up to 30 s) for bad.pipe's diagnostics, then go on."
  (setq tries (1+ tries))
  (if (or (diags (find-file "bad.pipe")) (> tries 30))
      (step1)
    (run-with-timer 1 nil #'step0)))
(defun step1 ()
  (with-current-buffer (find-file "bad.pipe")
    (out "emacs %s, eglot %s" emacs-version (or (ignore-errors (package-get-version)) (bound-and-true-p eglot--version) "?"))
    (out "bad.pipe: %S" (diags (current-buffer)))
    (goto-char (point-min)) (search-forward "save     every 400 steps") (end-of-line) (insert " ")
    (eglot--signal-textDocument/didChange)
    (sit-for 1)
    (let* ((r (jsonrpc-request (eglot-current-server) :textDocument/completion (eglot--TextDocumentPositionParams)))
           (items (if (vectorp r) r (plist-get r :items))))
      (out "completion items: %d" (length items))
      (seq-doseq (it items)
        (when (member (plist-get it :label) '("every" "from"))
          (out "  completion %s -> %S (format %s)" (plist-get it :label) (plist-get it :insertText) (plist-get it :insertTextFormat)))))
    (set-buffer-modified-p nil))
  (setq a-buf (find-file "a.pipe"))
  (run-with-timer 3 nil #'step2))
(defun step2 ()
  (out "a.pipe before: %S" (diags a-buf))
  (with-temp-file "b.pipe" (insert-file-contents "b.pipe")
    (goto-char (point-min)) (search-forward "hook clip ") (replace-match "hook clipper "))
  (run-with-timer 4 nil #'step3))
(defun step3 ()
  (out "a.pipe after b.pipe changed on disk: %S" (diags a-buf))
  (with-temp-file "b.pipe" (insert-file-contents "b.pipe")
    (goto-char (point-min)) (search-forward "hook clipper ") (replace-match "hook clip "))
  (kill-emacs 0))
(add-hook 'emacs-startup-hook (lambda () (find-file "bad.pipe") (run-with-timer 1 nil #'step0)))
