//! SnapStart keys of a function (`snapstart`, `snapstart_restore`, `snapstart_hooks`,
//! `whatif_snapstart`): the platform's refusals, checked by [`super::validate`].
//!
//! Sources: supported runtimes and the refusal of provisioned concurrency, "Supported features
//! and limitations", <https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html>; the 10 s
//! limit of after-restore hooks, "SnapStartTimeoutException",
//! <https://docs.aws.amazon.com/lambda/latest/dg/snapstart-troubleshooting.html>.

use super::{limits as lim, Function};
use crate::error::KeyPath;
use crate::presets;

/// The runtime presets on which SnapStart exists, for error messages.
fn supported() -> String {
    presets::RUNTIMES
        .iter()
        .filter(|r| r.snapstart.is_some())
        .map(|r| r.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks function `f`'s SnapStart keys; `fk` names a key of this function.
pub fn validate(f: &Function, fk: &dyn Fn(&str) -> KeyPath) -> Result<(), (KeyPath, String)> {
    if f.snapstart_hooks > lim::MAX_SNAPSTART_HOOKS {
        return Err((
            fk("snapstart_hooks"),
            format!(
                "must be at most {} (after-restore hooks time out after 10 seconds), got {}",
                lim::MAX_SNAPSTART_HOOKS,
                f.snapstart_hooks
            ),
        ));
    }
    if let Some(d) = &f.snapstart_restore {
        d.validate()
            .map_err(|(field, m)| (fk(&format!("snapstart_restore.{field}")), m))?;
    }
    let on_runtime = presets::runtime(&f.runtime).is_some_and(|r| r.snapstart.is_some());
    for (key, set) in [
        ("snapstart", f.snapstart),
        ("whatif_snapstart", f.whatif_snapstart),
    ] {
        if set && !on_runtime {
            return Err((
                fk(key),
                format!(
                    "SnapStart is not available on runtime {:?} (supported presets: {})",
                    f.runtime,
                    supported()
                ),
            ));
        }
    }
    if f.snapstart && (f.provisioned_concurrency > 0 || f.provisioned_varies()) {
        return Err((
            fk("snapstart"),
            format!(
                "SnapStart does not support provisioned concurrency (provisioned_concurrency = {}{}): use one or the other",
                f.provisioned_concurrency,
                if f.provisioned_varies() {
                    ", with a provisioned_schedule or provisioned_autoscaling"
                } else {
                    ""
                }
            ),
        ));
    }
    Ok(())
}
