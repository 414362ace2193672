//! A direct classic-BPF generator for the common seccomp filter shape on x86_64.
//!
//! Why: building the rule database in libseccomp 2.5.4 (a transaction snapshot per rule) and
//! its BPF generator cost ~0.3 ms of CPU per launch for the default preset, more than the
//! rest of the seccomp layer together. This generator writes the same decisions directly.
//!
//! It only accepts plans whose meaning is unambiguous, and returns `None` for everything
//! else so the caller falls back to libseccomp:
//! - the native ABI only (no extra architectures);
//! - per syscall number, either one rule without conditions, or one or more conditional
//!   rules that all share one action and each test an argument at most once.
//!
//! The program mirrors libseccomp's prologue exactly (wrong audit arch → bad-arch action;
//! x32 numbers, i.e. `nr >= 0x40000000` except `-1`, → bad-arch action), compares all
//! 64 bits of each argument (high word first), and returns the default action for every
//! syscall no rule matched. `src/seccomp/equiv_tests.rs` (a test module of `exec::confine::seccomp`) proves it equivalent to
//! libseccomp's program for the preset and the test profiles by evaluating both.

use crate::plan::{SeccompArgPlan, SeccompOp};

// Classic BPF opcodes (linux/bpf_common.h).
const LD_W_ABS: u16 = 0x20;
const ALU_AND_K: u16 = 0x54;
const JMP_JA: u16 = 0x05;
const JMP_JEQ_K: u16 = 0x15;
const JMP_JGT_K: u16 = 0x25;
const JMP_JGE_K: u16 = 0x35;
const RET_K: u16 = 0x06;

// struct seccomp_data offsets.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARGS: u32 = 16;

/// AUDIT_ARCH_X86_64 (EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE).
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// x32 syscalls are x86_64 syscalls with this bit set in `nr`.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// One rule for the native ABI, its syscall already resolved to a number.
#[derive(Debug, Clone, Copy)]
pub struct NativeRule<'a> {
    pub nr: u32,
    /// The SECCOMP_RET_* value.
    pub ret: u32,
    pub args: &'a [SeccompArgPlan],
}

/// Where a jump goes: the next instruction or a label.
#[derive(Debug, Clone, Copy)]
enum Target {
    Next,
    Label(usize),
}

#[derive(Debug)]
enum Item {
    Stmt {
        code: u16,
        k: u32,
    },
    Jump {
        code: u16,
        k: u32,
        jt: Target,
        jf: Target,
    },
    /// Unconditional jump (32-bit offset, so it never runs out of range).
    Always(usize),
}

/// A tiny assembler: labels resolved once the program is laid out.
#[derive(Debug, Default)]
struct Asm {
    items: Vec<Item>,
    labels: Vec<Option<usize>>,
}

impl Asm {
    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }
    fn bind(&mut self, label: usize) {
        self.labels[label] = Some(self.items.len());
    }
    fn stmt(&mut self, code: u16, k: u32) {
        self.items.push(Item::Stmt { code, k });
    }
    fn jump(&mut self, code: u16, k: u32, jt: Target, jf: Target) {
        self.items.push(Item::Jump { code, k, jt, jf });
    }
    fn ret(&mut self, k: u32) {
        self.stmt(RET_K, k);
    }

    /// Lay out the program; `None` if a conditional jump is out of its 8-bit range.
    fn finish(self) -> Option<Vec<libc::sock_filter>> {
        let offset = |at: usize, t: Target| -> Option<usize> {
            match t {
                Target::Next => Some(0),
                Target::Label(l) => self.labels[l]?.checked_sub(at + 1),
            }
        };
        let mut out = Vec::with_capacity(self.items.len());
        for (at, item) in self.items.iter().enumerate() {
            out.push(match *item {
                Item::Stmt { code, k } => libc::sock_filter {
                    code,
                    jt: 0,
                    jf: 0,
                    k,
                },
                Item::Jump { code, k, jt, jf } => libc::sock_filter {
                    code,
                    jt: u8::try_from(offset(at, jt)?).ok()?,
                    jf: u8::try_from(offset(at, jf)?).ok()?,
                    k,
                },
                Item::Always(l) => libc::sock_filter {
                    code: JMP_JA,
                    jt: 0,
                    jf: 0,
                    k: u32::try_from(offset(at, Target::Label(l))?).ok()?,
                },
            });
        }
        Some(out)
    }
}

/// How one syscall number is handled.
enum Dispatch<'a> {
    Unconditional(u32),
    Conditional {
        ret: u32,
        rules: Vec<&'a [SeccompArgPlan]>,
    },
}

/// Group the rules by syscall number; `None` if the plan is outside the supported shape.
fn dispatch<'a>(rules: &[NativeRule<'a>]) -> Option<Vec<(u32, Dispatch<'a>)>> {
    for rule in rules {
        let mut seen = [false; 6];
        for a in rule.args {
            let i = usize::from(a.index);
            if i >= seen.len() || seen[i] {
                return None;
            }
            seen[i] = true;
        }
    }
    // Stable: the rules of one number keep their plan order.
    let mut sorted: Vec<&NativeRule<'a>> = rules.iter().collect();
    sorted.sort_by_key(|r| r.nr);
    let mut by_nr: Vec<(u32, Dispatch<'a>)> = Vec::new();
    for same in sorted.chunk_by(|a, b| a.nr == b.nr) {
        let first = same[0];
        let d = if first.args.is_empty() && same.len() == 1 {
            Dispatch::Unconditional(first.ret)
        } else if same
            .iter()
            .all(|r| !r.args.is_empty() && r.ret == first.ret)
        {
            Dispatch::Conditional {
                ret: first.ret,
                rules: same.iter().map(|r| r.args).collect(),
            }
        } else {
            // Mixed actions, or conditions next to an unconditional rule: libseccomp's
            // precedence rules decide, so let it.
            return None;
        };
        by_nr.push((first.nr, d));
    }
    Some(by_nr)
}

/// Load `word & mask` into the accumulator (no AND for a full-word mask).
fn masked_word(asm: &mut Asm, off: u32, mask: u32) {
    asm.stmt(LD_W_ABS, off);
    if mask != u32::MAX {
        asm.stmt(ALU_AND_K, mask);
    }
}

/// A rule that is one masked-eq on the low word only, as (arg index, mask, value & mask):
/// rules of this shape that share (index, mask) are tested off one load.
fn low_word_test(args: &[SeccompArgPlan]) -> Option<(u8, u32, u32)> {
    match args {
        [a] if a.op == SeccompOp::MaskedEq && a.mask >> 32 == 0 && a.mask != 0 => {
            let m = a.mask as u32;
            Some((a.index, m, a.value as u32 & m))
        }
        _ => None,
    }
}

/// Emit the conditional rules of one syscall, all with the action `ret`; the accumulator
/// is clobbered. Falls off the end when no rule matches.
fn conditional_rules(asm: &mut Asm, ret: u32, rules: &[&[SeccompArgPlan]]) {
    // General rules first, each with its own `ret` (no long jumps).
    let mut grouped: Vec<((u8, u32), Vec<u32>)> = Vec::new();
    for args in rules {
        if let Some((index, mask, value)) = low_word_test(args) {
            match grouped.iter_mut().find(|(k, _)| *k == (index, mask)) {
                Some((_, values)) => values.push(value),
                None => grouped.push(((index, mask), vec![value])),
            }
            continue;
        }
        let next_rule = asm.label();
        for arg in *args {
            condition(asm, arg, next_rule);
        }
        asm.ret(ret);
        asm.bind(next_rule);
    }
    if grouped.is_empty() {
        return;
    }
    // Low-word masked-eq rules (the preset's personality and ioctl sets): one load and AND
    // per (index, mask), then a `jeq` per value to a shared `ret`. The `ret` is repeated
    // every ~200 instructions so each jump to it stays within its 8-bit offset.
    let mut hit = asm.label();
    let mut segment_start = asm.items.len();
    for ((index, mask), mut values) in grouped {
        values.sort_unstable();
        values.dedup();
        masked_word(asm, OFF_ARGS + 8 * u32::from(index), mask);
        for v in values {
            if asm.items.len() - segment_start > 200 {
                // Close the segment: skip its `ret`; the accumulator is left intact.
                let after = asm.label();
                asm.items.push(Item::Always(after));
                asm.bind(hit);
                asm.ret(ret);
                asm.bind(after);
                hit = asm.label();
                segment_start = asm.items.len();
            }
            asm.jump(JMP_JEQ_K, v, Target::Label(hit), Target::Next);
        }
    }
    let after = asm.label();
    asm.items.push(Item::Always(after));
    asm.bind(hit);
    asm.ret(ret);
    asm.bind(after);
}

/// Emit the test of one 64-bit argument condition: fall through when it holds, jump to
/// `fail` when it does not. The accumulator is clobbered.
fn condition(asm: &mut Asm, arg: &SeccompArgPlan, fail: usize) {
    let lo_off = OFF_ARGS + 8 * u32::from(arg.index);
    let hi_off = lo_off + 4;
    let (v_hi, v_lo) = ((arg.value >> 32) as u32, arg.value as u32);
    let pass = asm.label();
    let fail = Target::Label(fail);
    let (p, n) = (Target::Label(pass), Target::Next);
    if arg.op == SeccompOp::MaskedEq {
        // (word & 0) == (value & 0) always holds, so a zero half of the mask needs no code.
        let (m_hi, m_lo) = ((arg.mask >> 32) as u32, arg.mask as u32);
        for (off, m, v) in [(hi_off, m_hi, v_hi), (lo_off, m_lo, v_lo)] {
            if m != 0 {
                masked_word(asm, off, m);
                // libseccomp compares against `value & mask`: value bits outside the mask
                // are ignored, not a condition that can never hold.
                asm.jump(JMP_JEQ_K, v & m, n, fail);
            }
        }
        asm.bind(pass);
        return;
    }
    asm.stmt(LD_W_ABS, hi_off);
    match arg.op {
        SeccompOp::Eq => {
            asm.jump(JMP_JEQ_K, v_hi, n, fail);
            asm.stmt(LD_W_ABS, lo_off);
            asm.jump(JMP_JEQ_K, v_lo, n, fail);
        }
        SeccompOp::Ne => {
            asm.jump(JMP_JEQ_K, v_hi, n, p);
            asm.stmt(LD_W_ABS, lo_off);
            asm.jump(JMP_JEQ_K, v_lo, fail, n);
        }
        SeccompOp::MaskedEq => unreachable!("handled above"),
        // Unsigned 64-bit order: the high words decide unless they are equal.
        SeccompOp::Gt | SeccompOp::Ge => {
            asm.jump(JMP_JGT_K, v_hi, p, n);
            asm.jump(JMP_JEQ_K, v_hi, n, fail);
            asm.stmt(LD_W_ABS, lo_off);
            let code = if arg.op == SeccompOp::Gt {
                JMP_JGT_K
            } else {
                JMP_JGE_K
            };
            asm.jump(code, v_lo, n, fail);
        }
        SeccompOp::Lt | SeccompOp::Le => {
            asm.jump(JMP_JGT_K, v_hi, fail, n);
            asm.jump(JMP_JEQ_K, v_hi, n, p);
            asm.stmt(LD_W_ABS, lo_off);
            let code = if arg.op == SeccompOp::Lt {
                JMP_JGE_K
            } else {
                JMP_JGT_K
            };
            asm.jump(code, v_lo, fail, n);
        }
    }
    asm.bind(pass);
}

/// Generate the filter, or `None` when the plan needs libseccomp (see the module docs).
/// Rules with negative numbers (names that do not exist on x86_64) must already be dropped;
/// like libseccomp, the filter has nothing to match them with.
pub fn generate(
    default_ret: u32,
    badarch_ret: u32,
    rules: &[NativeRule<'_>],
) -> Option<Vec<libc::sock_filter>> {
    let by_nr = dispatch(rules)?;
    let mut asm = Asm::default();
    let badarch = asm.label();
    let dispatch_start = asm.label();

    // Prologue, identical in meaning to libseccomp's. The bad-arch `ret` sits right here,
    // not at the end, so the jumps to it stay within their 8-bit offsets.
    asm.stmt(LD_W_ABS, OFF_ARCH);
    asm.jump(
        JMP_JEQ_K,
        AUDIT_ARCH_X86_64,
        Target::Next,
        Target::Label(badarch),
    );
    asm.stmt(LD_W_ABS, OFF_NR);
    asm.jump(
        JMP_JGE_K,
        X32_SYSCALL_BIT,
        Target::Next,
        Target::Label(dispatch_start),
    );
    // -1 is what a tracer leaves when it skips a syscall: not x32, falls to the default.
    asm.jump(
        JMP_JEQ_K,
        u32::MAX,
        Target::Label(dispatch_start),
        Target::Next,
    );
    asm.bind(badarch);
    asm.ret(badarch_ret);
    asm.bind(dispatch_start);

    // Unconditional syscalls: one chain of `jeq` per action, in chunks so every jump to the
    // chunk's shared `ret` stays within the 8-bit offset. The accumulator holds `nr`.
    let mut actions: Vec<u32> = Vec::new();
    for (_, d) in &by_nr {
        if let Dispatch::Unconditional(ret) = d {
            if !actions.contains(ret) {
                actions.push(*ret);
            }
        }
    }
    for ret in actions {
        let nrs: Vec<u32> = by_nr
            .iter()
            .filter_map(|(nr, d)| match d {
                Dispatch::Unconditional(r) if *r == ret => Some(*nr),
                _ => None,
            })
            .collect();
        for chunk in nrs.chunks(200) {
            let hit = asm.label();
            let after = asm.label();
            for (i, nr) in chunk.iter().enumerate() {
                let miss = if i + 1 == chunk.len() {
                    Target::Label(after)
                } else {
                    Target::Next
                };
                asm.jump(JMP_JEQ_K, *nr, Target::Label(hit), miss);
            }
            asm.bind(hit);
            asm.ret(ret);
            asm.bind(after);
        }
    }

    // Conditional syscalls: a self-contained block each; a match returns the action, a
    // miss of every rule returns the default (no other rule can name this number).
    for (nr, d) in &by_nr {
        let Dispatch::Conditional { ret, rules } = d else {
            continue;
        };
        let (block, next_block) = (asm.label(), asm.label());
        // A block can outgrow the 8-bit offset of a conditional jump (the preset's
        // `personality` has dozens of rules), so a 32-bit `ja` skips it.
        asm.jump(JMP_JEQ_K, *nr, Target::Label(block), Target::Next);
        asm.items.push(Item::Always(next_block));
        asm.bind(block);
        conditional_rules(&mut asm, *ret, rules);
        asm.ret(default_ret);
        // Non-matching numbers skip the block with `nr` still in the accumulator.
        asm.bind(next_block);
    }
    asm.ret(default_ret);
    asm.finish()
}

/// SECCOMP_RET_* values (linux/seccomp.h).
pub mod ret {
    pub const KILL_PROCESS: u32 = 0x8000_0000;
    pub const KILL_THREAD: u32 = 0x0000_0000;
    pub const TRAP: u32 = 0x0003_0000;
    pub const ERRNO: u32 = 0x0005_0000;
    pub const LOG: u32 = 0x7ffc_0000;
    pub const ALLOW: u32 = 0x7fff_0000;
}

/// A classic-BPF interpreter for seccomp programs, for the equivalence tests.
#[cfg(test)]
pub mod interp {
    /// The fields of `struct seccomp_data` a filter can read.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Data {
        pub nr: u32,
        pub arch: u32,
        pub args: [u64; 6],
    }

    fn word(d: &Data, off: u32) -> u32 {
        match off {
            0 => d.nr,
            4 => d.arch,
            16..=63 if off.is_multiple_of(4) => {
                let a = d.args[((off - 16) / 8) as usize];
                if off.is_multiple_of(8) {
                    a as u32
                } else {
                    (a >> 32) as u32
                }
            }
            _ => panic!("load from unsupported seccomp_data offset {off}"),
        }
    }

    /// Run `prog` on `d` and return the SECCOMP_RET_* value.
    pub fn run(prog: &[libc::sock_filter], d: &Data) -> u32 {
        let (mut pc, mut a) = (0usize, 0u32);
        loop {
            let i = prog[pc];
            pc += 1;
            let k = i.k;
            let cond = |taken: bool| if taken { i.jt } else { i.jf } as usize;
            match i.code {
                0x20 => a = word(d, k),
                0x54 => a &= k,
                0x05 => pc += k as usize,
                0x15 => pc += cond(a == k),
                0x25 => pc += cond(a > k),
                0x35 => pc += cond(a >= k),
                0x45 => pc += cond(a & k != 0),
                0x06 => return k,
                other => panic!("unsupported BPF opcode {other:#x} at {}", pc - 1),
            }
        }
    }
}
