"""Cell-type names as scpx stores them in HDF5 (src/ctpred/names.cpp), shared by the ctPred scripts."""


def cell_type_link(name):
    """HDF5 group name of a cell type, as scpx writes it (src/ctpred/names.cpp): '%', '/' and
    control characters as %XX, and the first character of a name HDF5 or the file layout
    reserves; /cell_types keeps the names themselves."""
    out = "".join(f"%{ord(c):02X}" if c in "%/" or ord(c) < 0x20 or ord(c) == 0x7F else c for c in name)
    if out in (".", "..", "cell_types", "gene_id", "sample_id"):
        out = f"%{ord(out[0]):02X}" + out[1:]
    return out
