//! How the window draws on a Linux machine without a GPU (a virtual machine, a remote desktop,
//! Xvfb).
//!
//! There every GL call runs on the CPU through Mesa's llvmpipe. Still, GTK opens a GL context
//! to see what it can use, and WebKit opens an EGL display in the app's own process to probe
//! for DMA-BUF buffers and a render device: each loads Mesa and its LLVM, 42 MiB of the app's
//! resident memory all day, only to learn there is no GPU. On such a machine the app says so up
//! front, through the variables GTK and WebKit read for it. The page itself draws as before, in
//! WebKit's web process. A machine with a render node is left alone, and so is any of these
//! variables the user set.

use std::path::Path;

/// Where the kernel lists GPU render nodes (`renderD128`, ...).
const DRI: &str = "/dev/dri";

/// What is set when there is no render node, each only if the user has not set it:
/// - GTK: no GL for the window;
/// - WebKit: the older shared-memory path instead of DMA-BUF buffers, whose probe needs EGL;
/// - WebKit: the render device, named so that it is not looked up through EGL. The web process
///   opens it only to share GPU buffers, which it does not do here; `/dev/null` is no device.
const WITHOUT_GPU: [(&str, &str); 3] = [
    ("GDK_GL", "disable"),
    ("WEBKIT_DISABLE_DMABUF_RENDERER", "1"),
    ("WEBKIT_WEB_RENDER_DEVICE_FILE", "/dev/null"),
];

/// Sets the variables for a machine without a GPU. Must run before any thread starts (the
/// environment is not safe to change while another thread may read it) and before GTK.
pub fn configure() {
    let settings = settings_for(has_render_node(Path::new(DRI)), |name| {
        std::env::var_os(name).is_some()
    });
    for (name, value) in &settings {
        std::env::set_var(name, value);
    }
    if !settings.is_empty() {
        tracing::info!(
            set = ?settings,
            "no GPU render node: software rendering without GL in the app's process"
        );
    }
}

fn has_render_node(dri: &Path) -> bool {
    std::fs::read_dir(dri).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.file_name().to_string_lossy().starts_with("renderD"))
    })
}

/// The variables to set, given whether the machine has a render node and which variables the
/// environment already has.
fn settings_for(has_gpu: bool, is_set: impl Fn(&str) -> bool) -> Vec<(&'static str, &'static str)> {
    if has_gpu {
        return Vec::new();
    }
    WITHOUT_GPU
        .iter()
        .copied()
        .filter(|(name, _)| !is_set(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_machine_with_a_gpu_is_left_alone() {
        assert!(
            settings_for(true, |_| false).is_empty(),
            "a machine with a render node keeps the default GPU rendering"
        );
    }

    #[test]
    fn without_a_gpu_gl_is_kept_out_of_the_app_process() {
        let names: Vec<&str> = settings_for(false, |_| false)
            .iter()
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(
            names,
            [
                "GDK_GL",
                "WEBKIT_DISABLE_DMABUF_RENDERER",
                "WEBKIT_WEB_RENDER_DEVICE_FILE"
            ],
            "without a GPU the app sets the three variables that keep GL out of its process"
        );
    }

    #[test]
    fn what_the_user_set_is_kept() {
        let set = settings_for(false, |name| name == "WEBKIT_DISABLE_DMABUF_RENDERER");
        assert!(
            set.iter()
                .all(|(name, _)| *name != "WEBKIT_DISABLE_DMABUF_RENDERER"),
            "a variable the user already set is not overridden"
        );
        assert_eq!(
            set.len(),
            2,
            "only the variables the user left unset are set"
        );
    }

    #[test]
    fn render_nodes_are_found_by_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(!has_render_node(dir.path()), "an empty folder has none");
        std::fs::write(dir.path().join("card0"), b"").expect("card0");
        assert!(
            !has_render_node(dir.path()),
            "a primary node is not a render node"
        );
        std::fs::write(dir.path().join("renderD128"), b"").expect("renderD128");
        assert!(
            has_render_node(dir.path()),
            "a renderD node is a render node"
        );
        assert!(
            !has_render_node(&dir.path().join("missing")),
            "a missing folder has no render node rather than an error"
        );
    }
}
