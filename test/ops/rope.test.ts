// RoPE tables vs torch and vs an independent float64 formula.
// The TORCH_* constants are inv_freq bit patterns (int32 view of float32) printed by
// transformers 4.57.6 / torch 2.13 (ROPE_INIT_FUNCTIONS[...](LlamaConfig(...), 'cpu')):
//   llama3b: head_dim 128, rope_theta 5e5, llama3 scaling (factor 32, low 1, high 4, orig 8192)
//            — Ovis1.6-Llama3.2-3B;
//   gemma:   head_dim 256, rope_theta 1e4, default — Ovis1.6-Gemma2-9B;
//   odd:     head_dim 64, rope_theta 12345, llama3 (factor 8, low 1, high 4, orig 64).
import { describe, expect, it } from 'vitest';
import { type Llama3RopeScaling, ropeCosSin, ropeInvFreq } from '../../src/ops/rope.js';
import { U } from './helpers.js';

const TORCH_LLAMA3B = [
  1065353216, 1062243009, 1059709382, 1057645444, 1054963644, 1052224381, 1049992931, 1047774305, 1044812720, 1042400160, 1040434848,
  1037480348, 1034871981, 1032747160, 1030233703, 1027413636, 1025116360, 1023079743, 1020030793, 1017547065, 1015523779, 1012729580,
  1010044269, 1007856767, 1005516623, 1002613366, 1000248322, 998321717, 995260192, 990565624, 984164251, 977790279, 971060768, 963220889,
  952867063, 935880838, 933446029, 931462591, 928558209, 925925785, 923781368, 921322095, 918476020, 916157557, 914179523, 911102453,
  908595819, 906553871, 903811268, 901101191, 898893515, 896609152, 893679120, 891292265, 889347892, 886335496, 883754919, 881652736,
  879076685, 876286663, 874013863, 871909570, 868893104, 866435839,
];
const TORCH_GEMMA = [
  1065353216, 1064188408, 1063104471, 1062095789, 1061157137, 1060283654, 1059470816, 1058714411, 1058010522, 1057355503, 1056527311,
  1055392863, 1054337179, 1053354788, 1052440603, 1051589887, 1050798235, 1050061546, 1049376004, 1048738057, 1047712803, 1046607925,
  1045579757, 1044622972, 1043732615, 1042904073, 1042133056, 1041415569, 1040747895, 1040065760, 1038909398, 1037833318, 1036831949,
  1035900102, 1035032952, 1034226006, 1033475085, 1032776299, 1032126029, 1031243027, 1030116802, 1029068772, 1028093503, 1027185945,
  1026341397, 1025555485, 1024824136, 1024143564, 1023510243, 1022431607, 1021334738, 1020314024, 1019364175, 1018480273, 1017657739,
  1016892311, 1016180025, 1015517192, 1014779187, 1013631207, 1012562930, 1011568819, 1010643729, 1009782866, 1008981770, 1008236293,
  1007542573, 1006897017, 1005959600, 1004841542, 1003801109, 1002832911, 1001931932, 1001093507, 1000313292, 999587246, 998911607,
  998282877, 997151246, 996062330, 995049016, 994106053, 993228559, 992411987, 991652109, 990944987, 990286959, 989493488, 988353832,
  987293299, 986306396, 985388013, 984533390, 983738103, 982998030, 982309339, 981668463, 980677027, 979567074, 978534184, 977573004,
  976678558, 975846212, 975071653, 974350870, 973680130, 973033388, 971871714, 970790693, 969784726, 968848599, 967977467, 967166816,
  966412446, 965710450, 965057193, 964208661, 963077266, 962024420, 961044673, 960132947, 959284521, 958494998, 957760292, 957076594,
  956440363, 955395298, 954293393,
];
const TORCH_ODD = [
  1065353216, 1061074584, 1057887115, 1054060463, 1047268222, 1039271787, 1030677122, 1021104218, 1010977538, 1007730240, 1003989218,
  1000384809, 997154888, 993154098, 990173614, 986050721, 982742470, 979088685, 975416620, 972283529, 968207642, 965171214, 961128390,
  957758042, 954193130, 950452140, 947417697, 943265305, 940171882, 936210629, 932777019, 929302650,
];

const LLAMA3: Llama3RopeScaling = {
  rope_type: 'llama3',
  factor: 32,
  low_freq_factor: 1,
  high_freq_factor: 4,
  original_max_position_embeddings: 8192,
};
const bits = (a: Float32Array) => Array.from(new Int32Array(a.buffer, a.byteOffset, a.length));

/** Independent llama3 formula in float64 (Meta's apply_scaling), with the band of each index. */
function llama3F64(dim: number, theta: number, s: Llama3RopeScaling): { inv: number[]; band: ('high' | 'low' | 'mid')[] } {
  const inv: number[] = [];
  const band: ('high' | 'low' | 'mid')[] = [];
  for (let i = 0; i < dim / 2; i++) {
    const f = theta ** (-(2 * i) / dim);
    const wl = (2 * Math.PI) / f;
    if (wl < s.original_max_position_embeddings / s.high_freq_factor) {
      inv.push(f);
      band.push('high');
    } else if (wl > s.original_max_position_embeddings / s.low_freq_factor) {
      inv.push(f / s.factor);
      band.push('low');
    } else {
      const k = (s.original_max_position_embeddings / wl - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      inv.push(((1 - k) * f) / s.factor + k * f);
      band.push('mid');
    }
  }
  return { inv, band };
}

describe('rope inverse frequencies', () => {
  it('llama3 scaling is bit-identical to torch (Ovis1.6-Llama3.2-3B and an odd config)', () => {
    expect(bits(ropeInvFreq(128, 500000, LLAMA3))).toEqual(TORCH_LLAMA3B);
    expect(
      bits(
        ropeInvFreq(64, 12345, {
          rope_type: 'llama3',
          factor: 8,
          low_freq_factor: 1,
          high_freq_factor: 4,
          original_max_position_embeddings: 64,
        }),
      ),
    ).toEqual(TORCH_ODD);
  });

  it('default rope is within 1 ulp of torch (its vectorised f32 pow is not correctly rounded)', () => {
    const got = bits(ropeInvFreq(256, 10000));
    const diffs = got.map((b, i) => Math.abs(b - TORCH_GEMMA[i]));
    expect(Math.max(...diffs)).toBeLessThanOrEqual(1);
    expect(diffs.filter((d) => d > 0).length).toBeLessThanOrEqual(2); // 1 of 128 today (index 111)
    expect(bits(ropeInvFreq(256, 10000, { rope_type: 'default' }))).toEqual(got);
  });

  it('llama3 bands: each band present and each value within a few f32 ulps of the f64 formula', () => {
    const got = ropeInvFreq(128, 500000, LLAMA3);
    const ref = llama3F64(128, 500000, LLAMA3);
    for (const b of ['high', 'low', 'mid'] as const) expect(ref.band.filter((x) => x === b).length).toBeGreaterThan(0);
    ref.inv.forEach((v, i) => {
      const tol = (ref.band[i] === 'mid' ? 16 : 4) * U * v; // mid: a few f32 ops, each rounded
      if (Math.abs(got[i] - v) > tol) expect.fail(`index ${i} (${ref.band[i]}): got ${got[i]}, want ${v}`);
    });
  });

  it('rejects odd head_dim and unknown rope types', () => {
    expect(() => ropeInvFreq(7, 1e4)).toThrow(/even/);
    expect(() => ropeInvFreq(8, 1e4, { rope_type: 'yarn' } as never)).toThrow(/yarn/);
  });
});

describe('rope cos/sin tables', () => {
  it('cos/sin = cos/sin(f32(pos · inv_freq)), halves repeated (emb = cat(freqs, freqs))', () => {
    const pos = [0, 1, 7, 100, 4095, 8191, 131071];
    const D = 128;
    const inv = ropeInvFreq(D, 500000, LLAMA3);
    const { cos, sin } = ropeCosSin(pos, D, 500000, LLAMA3);
    expect(cos.length).toBe(pos.length * D);
    for (let t = 0; t < pos.length; t++) {
      for (let d = 0; d < D; d++) {
        // HF multiplies in f32 (inv_freq @ position_ids.float()): the angle is rounded to f32,
        // which at position 131071 moves it by up to ~4e-3 rad — reproduced, not "fixed".
        const ang = Math.fround(pos[t] * inv[d % (D / 2)]);
        const c = cos[t * D + d];
        const s = sin[t * D + d];
        if (Math.abs(c - Math.cos(ang)) > U || Math.abs(s - Math.sin(ang)) > U) {
          expect.fail(`pos ${pos[t]} d ${d}: got (${c}, ${s}), want (${Math.cos(ang)}, ${Math.sin(ang)})`);
        }
      }
    }
    // Position 0: cos 1, sin 0 exactly.
    expect(Array.from(cos.subarray(0, D)).every((v) => v === 1)).toBe(true);
    expect(Array.from(sin.subarray(0, D)).every((v) => v === 0)).toBe(true);
  });
});
