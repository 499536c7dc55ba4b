//! The machine's and this process's CPU and memory, read from Linux's `/proc` (elsewhere:
//! nothing, and the readings are `None`).

/// Cumulative CPU time of the whole machine, in clock ticks: (busy, total).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuTimes {
    pub busy: u64,
    pub total: u64,
}

impl CpuTimes {
    pub fn read() -> Option<Self> {
        Self::parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    /// The `cpu` line of `/proc/stat`: user nice system idle iowait irq softirq steal …; idle
    /// and iowait are not busy (guest time is already in user).
    pub fn parse(stat: &str) -> Option<Self> {
        let line = stat.lines().find(|l| l.starts_with("cpu "))?;
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(|x| x.parse().ok())
            .collect::<Option<_>>()?;
        if v.len() < 4 {
            return None;
        }
        let total: u64 = v.iter().sum();
        let idle = v[3] + v.get(4).copied().unwrap_or(0);
        Some(Self {
            busy: total - idle,
            total,
        })
    }

    /// The busy share (percent) between an earlier reading and this one.
    pub fn busy_since(&self, earlier: &CpuTimes) -> Option<u8> {
        let total = self.total.checked_sub(earlier.total)?;
        let busy = self.busy.checked_sub(earlier.busy)?;
        if total == 0 {
            return None;
        }
        Some(((busy * 100 + total / 2) / total).min(100) as u8)
    }
}

/// This process's CPU time so far (user + system), in clock ticks (USER_HZ, 100 a second on
/// Linux), from `/proc/self/stat`.
pub fn process_ticks() -> Option<u64> {
    parse_process_ticks(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

pub fn parse_process_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) may hold spaces: fields are counted after its ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, so utime (14) and stime (15) are at 11 and 12.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Clock ticks a second in `/proc` (USER_HZ: 100 on every Linux architecture in use).
pub const TICKS_PER_SEC: u64 = 100;

/// This process's resident memory, from `/proc/self/status`.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_busy_share_between_two_readings() {
        let a = CpuTimes::parse("cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3 4\n").unwrap();
        assert_eq!(
            a,
            CpuTimes {
                busy: 200,
                total: 1000
            }
        );
        let b = CpuTimes::parse("cpu  400 0 200 1100 100 0 0 0 0 0\n").unwrap();
        // 400 more busy of 800 more ticks (iowait is not busy).
        assert_eq!(b.busy_since(&a), Some(50));
        assert_eq!(a.busy_since(&a), None, "no time passed");
        assert_eq!(a.busy_since(&b), None, "readings out of order");
        assert_eq!(CpuTimes::parse("intr 1 2 3"), None);
    }

    #[test]
    fn process_ticks_after_a_name_with_spaces() {
        let stat = "1234 (plenary serve) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 99 1000 200";
        assert_eq!(parse_process_ticks(stat), Some(300));
        assert!(
            process_ticks().is_some_and(|t| t < u64::MAX),
            "this process, on Linux"
        );
        assert!(rss_bytes().is_some_and(|b| b > 0));
    }
}
