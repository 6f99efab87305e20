//! Noticing that the machine woke up, so a pass fetches what Linq gave up delivering while it
//! slept: a wall clock that jumped ahead of the monotonic clock between two ticks (the
//! monotonic clock stops during suspend on Linux), and logind's `PrepareForSleep(false)` on the
//! system bus where there is one.

use std::time::{Duration, Instant, SystemTime};

use super::{CatchUp, Trigger};

/// How often the clocks are compared.
const TICK: Duration = Duration::from_secs(15);
/// A wall clock this far ahead of the monotonic one between two ticks means the machine slept
/// (an NTP step is seconds, not a minute).
const JUMP: Duration = Duration::from_secs(60);

/// Compares the clocks every [`TICK`] and asks for a pass after a jump. Runs forever.
pub async fn watch_clock(catch_up: CatchUp) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (mut wall, mut mono) = (SystemTime::now(), Instant::now());
    loop {
        tick.tick().await;
        let (now_wall, now_mono) = (SystemTime::now(), Instant::now());
        if slept(wall, mono, now_wall, now_mono) {
            tracing::info!("the wall clock jumped ahead: the machine woke up; catching up");
            catch_up.request(Trigger::Wake);
        }
        (wall, mono) = (now_wall, now_mono);
    }
}

/// True when the wall clock moved [`JUMP`] more than the monotonic clock did.
pub fn slept(wall: SystemTime, mono: Instant, now_wall: SystemTime, now_mono: Instant) -> bool {
    let wall_elapsed = now_wall.duration_since(wall).unwrap_or_default();
    wall_elapsed.saturating_sub(now_mono.duration_since(mono)) > JUMP
}

/// Listens for logind's `PrepareForSleep` on the system bus in a thread of its own and asks for
/// a pass when it says the machine resumed. Without a system bus (a container, a CI runner) it
/// does nothing, quietly.
#[cfg(target_os = "linux")]
pub fn watch_logind(catch_up: CatchUp) {
    let spawned = std::thread::Builder::new()
        .name("linq-logind".into())
        .spawn(move || {
            if let Err(e) = listen_logind(&catch_up) {
                tracing::debug!(error = %e, "no logind sleep signals (no system bus?)");
            }
        });
    if let Err(e) = spawned {
        tracing::debug!(error = %e, "could not start the logind listener");
    }
}

#[cfg(target_os = "linux")]
fn listen_logind(catch_up: &CatchUp) -> Result<(), dbus::Error> {
    use dbus::blocking::Connection;
    use dbus::message::MatchRule;

    let conn = Connection::new_system()?;
    let rule = MatchRule::new_signal("org.freedesktop.login1.Manager", "PrepareForSleep");
    let catch_up = catch_up.clone();
    conn.add_match(rule, move |(sleeping,): (bool,), _, _| {
        if !sleeping {
            tracing::info!("logind says the machine resumed; catching up");
            catch_up.request(Trigger::Wake);
        }
        true
    })?;
    loop {
        conn.process(Duration::from_secs(60))?;
    }
}

/// No logind off Linux.
#[cfg(not(target_os = "linux"))]
pub fn watch_logind(_catch_up: CatchUp) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wall_clock_jump_is_a_wake_and_a_tick_is_not() {
        let (wall, mono) = (SystemTime::now(), Instant::now());
        let later = mono + TICK;
        assert!(
            !slept(wall, mono, wall + TICK, later),
            "both clocks moved one tick: awake all along"
        );
        assert!(
            slept(wall, mono, wall + TICK + Duration::from_secs(3600), later),
            "an hour more on the wall clock than the monotonic one: the machine slept"
        );
        assert!(
            !slept(wall, mono, wall, later),
            "a wall clock set back is not a wake"
        );
    }
}
