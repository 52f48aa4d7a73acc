//! One way to read a paginated listing: every item (or page) to the end, unless the reader stops early; the
//! first error ends the listing and becomes a coverage gap, so what was read before it is kept.

use std::ops::ControlFlow;

use aws_smithy_async::future::pagination_stream::PaginationStream;
use aws_smithy_runtime_api::client::result::SdkError;

use super::Ctx;

impl Ctx<'_> {
    /// Read `stream`, handing each item to `f` until it breaks. On an error, `gap` says what to record (scope,
    /// reason) — or None when the error is expected (a feature not enabled, a role the caller does not play) — and
    /// the listing ends. Returns false when it ended on an error.
    pub(super) async fn drain<T, E, R>(
        &self,
        mut stream: PaginationStream<Result<T, SdkError<E, R>>>,
        gap: impl FnOnce(&SdkError<E, R>) -> Option<(String, String)>,
        mut f: impl FnMut(T) -> ControlFlow<()>,
    ) -> bool {
        while let Some(item) = stream.next().await {
            match item {
                Ok(x) => {
                    if f(x).is_break() {
                        return true;
                    }
                }
                Err(e) => {
                    if let Some((scope, reason)) = gap(&e) {
                        self.gap(scope, reason);
                    }
                    return false;
                }
            }
        }
        true
    }
}
