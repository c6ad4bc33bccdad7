"""How well a variant with an encoder gives its inputs back: per-pixel and domain-feature errors, the run's image
metrics of the reconstructions (FID beside the samples' FID), and a picture of inputs above their reconstructions."""
import torch

CHUNK = 500
PICTURE_ROWS, PER_ROW = 4, 8


def reconstruction_metrics(evaluation, reconstruct) -> dict[str, float]:
    """`evaluation`: a VariantEvaluation; `reconstruct`: (images, their places in the training set) -> their
    reconstructions (an encoder reads the images, per-image codes the places). Reconstructed: as many
    training images as the samples the run's FID reads, the first of the fixed permutation its reference draws from."""
    data, features = evaluation.data, evaluation.domain_features
    index = data.reference_index(min(evaluation.num_samples, len(data)))
    pixel, feature, shown = [], [], []

    def reconstructions():
        for chunk in index.split(CHUNK):
            x = data.samples(chunk)
            recon = reconstruct(x, chunk).float().cpu()
            pixel.append((recon - x).square().flatten(1).mean(1))
            if features is not None:
                feature.append((features(recon) - features(x)).square().mean(1))
            if not shown:
                shown.extend([x[:PICTURE_ROWS * PER_ROW], recon[:PICTURE_ROWS * PER_ROW]])
            yield recon

    scores = evaluation.image_metrics(reconstructions())
    result = {"recon_fid": scores["fid"], "recon_pixel_mse": torch.cat(pixel).mean().item()}
    if "kid_mean" in scores:
        result["recon_kid_mean"] = scores["kid_mean"]
    if feature:
        result["recon_feature_mse"] = torch.cat(feature).mean().item()
    x, recon = shown
    rows = [part for r in range(len(x) // PER_ROW) for part in (x[r * PER_ROW:(r + 1) * PER_ROW],
                                                                 recon[r * PER_ROW:(r + 1) * PER_ROW])]
    evaluation.grid("reconstructions", torch.cat(rows), PER_ROW)
    return result
