//! Telegram's errors and network trouble, injected by the test server.
