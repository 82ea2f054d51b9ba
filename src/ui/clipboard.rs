//! The system clipboard (arboard), behind a trait so tests need no display.

/// Somewhere to copy text to.
pub trait Clipboard {
    fn copy(&mut self, text: &str) -> Result<(), String>;
}

/// The real clipboard. Kept open for the app's lifetime: on X11 the copied text is served
/// by this process, and closing the clipboard could drop it.
#[derive(Default)]
pub struct SystemClipboard {
    inner: Option<arboard::Clipboard>,
}

impl Clipboard for SystemClipboard {
    fn copy(&mut self, text: &str) -> Result<(), String> {
        if self.inner.is_none() {
            self.inner = Some(
                arboard::Clipboard::new().map_err(|e| format!("no clipboard available ({e})"))?,
            );
        }
        let Some(clipboard) = self.inner.as_mut() else {
            return Err("no clipboard available".into());
        };
        clipboard.set_text(text.to_owned()).map_err(|e| {
            // A broken connection may work again after reopening.
            self.inner = None;
            format!("the clipboard refused the text ({e})")
        })
    }
}
