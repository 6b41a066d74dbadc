//! Client processes a test starts (kcat, Python clients), owned by a guard
//! that kills them when it drops, whether the test passed or panicked, so no
//! client outlives its test. (Under nextest, a test that runs out of time is
//! killed with its whole process group, brokers and clients included.)

use std::process::{Child, Command};

/// A child process that is killed and reaped when this value drops.
pub struct Process {
    child: Child,
    name: String,
}

impl Process {
    /// Starts `command`; `name` says what it is in failure messages.
    pub fn spawn(command: &mut Command, name: &str) -> Process {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{name} does not start ({e}); `bash .ci/run` installs it"));
        Process {
            child,
            name: name.to_string(),
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`STOP`, `CONT`, `TERM`, `KILL`).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {} failed", self.name);
    }

    /// Waits up to `within` for the process to exit by itself.
    pub fn wait_exit(&mut self, within: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        None
    }

    /// Kills the process with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // A stopped process still dies of SIGKILL.
        self.kill();
    }
}
