// The GPU display path: a frame's stored values stay on the GPU as an
// unsigned integer texture; the Modality LUT, VOI and inversion reach the
// shader as one lookup table of displayed values per stored value, built by
// `imaging::render::GrayLut` (the CPU reference), so the shader's output is
// the pipeline's to the bit and a window change uploads only the table.

struct Params {
    // xy: the corner's position in clip space; zw: its texture coordinate.
    corners: array<vec4<f32>, 4>,
    // Width and height of the stored-value texture.
    size: vec2<u32>,
    // The stored value of table entry 0.
    lut_offset: i32,
    // Number of table entries (at most 65536).
    lut_len: u32,
    // 8 or 16: the texture holds two's complement values of that many bits;
    // 0: unsigned.
    sign_bits: u32,
    // 1 when the target is an sRGB format (the shader then writes linear
    // values, which the hardware encodes back to the same 8-bit value).
    srgb_target: u32,
    _pad: vec2<u32>,
};

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var stored: texture_2d<u32>;
@group(0) @binding(2) var table: texture_2d<f32>;

struct VertexOut {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) index: u32) -> VertexOut {
    var order = array<u32, 6>(0u, 1u, 2u, 0u, 2u, 3u);
    let corner = params.corners[order[index]];
    var out: VertexOut;
    out.position = vec4<f32>(corner.xy, 0.0, 1.0);
    out.uv = corner.zw;
    return out;
}

fn srgb_to_linear(c: f32) -> f32 {
    if (c <= 0.04045) {
        return c / 12.92;
    }
    return pow((c + 0.055) / 1.055, 2.4);
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    let size = vec2<i32>(params.size);
    let texel = clamp(vec2<i32>(floor(in.uv * vec2<f32>(params.size))), vec2<i32>(0), size - 1);
    var value = i32(textureLoad(stored, texel, 0).r);
    if (params.sign_bits == 16u && value >= 32768) {
        value = value - 65536;
    }
    if (params.sign_bits == 8u && value >= 128) {
        value = value - 256;
    }
    let entry = clamp(value - params.lut_offset, 0, i32(params.lut_len) - 1);
    var gray = textureLoad(table, vec2<i32>(entry % 256, entry / 256), 0).r;
    if (params.srgb_target == 1u) {
        gray = srgb_to_linear(gray);
    }
    return vec4<f32>(gray, gray, gray, 1.0);
}
