//! [`send_decorator!`]: a [`Messenger`](super::Messenger) that wraps another
//! (`self.inner`) and only adds to `send_text` — the metrics and the
//! flood-wait log. Every other call is passed on here, once, so a call
//! added to the trait cannot be forgotten by one wrapper and silently fall
//! back to the trait's default behind it (as `shutdown` once did).

/// `send_decorator!(Type, |self, account, msg| { … })` implements
/// `Messenger` for `Type` (which has an `inner: Arc<dyn Messenger>`): the
/// block is `send_text`'s body; every other method is forwarded to `inner`.
macro_rules! send_decorator {
    ($ty:ty, |$this:ident, $account:ident, $msg:ident| $send:block) => {
        #[async_trait::async_trait]
        impl $crate::telegram::Messenger for $ty {
            async fn request_code(
                &self,
                account: &$crate::telegram::AccountKey,
                phone: &$crate::telegram::Secret,
            ) -> Result<$crate::telegram::LoginStart, $crate::telegram::TelegramError> {
                self.inner.request_code(account, phone).await
            }

            async fn submit_code(
                &self,
                account: &$crate::telegram::AccountKey,
                code: &$crate::telegram::Secret,
            ) -> Result<$crate::telegram::SignIn, $crate::telegram::TelegramError> {
                self.inner.submit_code(account, code).await
            }

            async fn submit_password(
                &self,
                account: &$crate::telegram::AccountKey,
                password: &$crate::telegram::Secret,
            ) -> Result<$crate::telegram::UserInfo, $crate::telegram::TelegramError> {
                self.inner.submit_password(account, password).await
            }

            async fn log_out(
                &self,
                account: &$crate::telegram::AccountKey,
            ) -> Result<(), $crate::telegram::TelegramError> {
                self.inner.log_out(account).await
            }

            async fn resolve(
                &self,
                account: &$crate::telegram::AccountKey,
                target: &str,
            ) -> Result<$crate::telegram::ResolvedPeer, $crate::telegram::TelegramError> {
                self.inner.resolve(account, target).await
            }

            async fn send_text(
                &$this,
                $account: &$crate::telegram::AccountKey,
                $msg: &$crate::telegram::OutgoingText<'_>,
            ) -> Result<$crate::telegram::Sent, $crate::telegram::TelegramError> $send

            async fn pin_message(
                &self,
                account: &$crate::telegram::AccountKey,
                msg: &$crate::telegram::SentRef<'_>,
                notify: bool,
            ) -> Result<(), $crate::telegram::TelegramError> {
                self.inner.pin_message(account, msg, notify).await
            }

            async fn delete_message(
                &self,
                account: &$crate::telegram::AccountKey,
                msg: &$crate::telegram::SentRef<'_>,
            ) -> Result<(), $crate::telegram::TelegramError> {
                self.inner.delete_message(account, msg).await
            }

            async fn dialogs(
                &self,
                account: &$crate::telegram::AccountKey,
                search: Option<&str>,
            ) -> Result<Vec<$crate::telegram::Dialog>, $crate::telegram::TelegramError> {
                self.inner.dialogs(account, search).await
            }

            async fn release(&self, account: &$crate::telegram::AccountKey) {
                self.inner.release(account).await
            }

            async fn shutdown(&self) {
                self.inner.shutdown().await
            }
        }
    };
}
pub(crate) use send_decorator;
