# Reference numbers for pipeline/stats/{reliability,validity,agreement}.py
#
# Run from the repository root:  Rscript tests/reference/psych/make_reference.R
# Writes the generated data (CSV) and R's results (JSON, full precision) next to this script.
# Tested with R psych 2.2.9, survey 4.1.1, GPArotation, lavaan 0.6.14, jsonlite.
suppressPackageStartupMessages({
  library(psych)
  library(survey)
  library(GPArotation)
  library(lavaan)
  library(jsonlite)
})
out_dir <- "tests/reference/psych"
put <- function(x, name) write_json(x, file.path(out_dir, name), digits = NA, auto_unbox = TRUE, pretty = TRUE)
cut5 <- function(z) as.integer(cut(z, breaks = c(-Inf, -1.5, -0.5, 0.5, 1.5, Inf)))

# ---------------------------------------------------------------------------------------------
# 1. Likert scale: 400 respondents, 6 five-point items, one factor; q4 is reverse-worded.
set.seed(20261126)
n <- 400
f <- rnorm(n)
lam <- c(0.8, 0.7, 0.6, -0.65, 0.5, 0.3)
likert <- as.data.frame(sapply(seq_along(lam), function(j) cut5(lam[j] * f + rnorm(n, sd = sqrt(1 - lam[j]^2)) + 0.3)))
names(likert) <- paste0("q", 1:6)
likert$w <- round(exp(rnorm(n, sd = 0.5)), 4) # sampling weights, roughly 0.3 - 3
write.csv(likert, file.path(out_dir, "likert.csv"), row.names = FALSE)

keyed <- likert[, paste0("q", 1:6)]
keyed$q4 <- 6 - keyed$q4 # reflected on the 1..5 response scale: min + max - x
a <- psych::alpha(keyed, warnings = FALSE)
fe <- alpha.ci(a$total$raw_alpha, n, 6, p.val = 0.05)
omg <- suppressMessages(psych::omega(keyed, nfactors = 1, plot = FALSE))
f1 <- fa(keyed, nfactors = 1, fm = "minres", rotate = "none")
des <- svydesign(ids = ~1, weights = ~w, data = cbind(keyed, w = likert$w))
walpha <- svycralpha(~ q1 + q2 + q3 + q4 + q5 + q6, des)
walpha_drop <- sapply(1:6, function(i) {
  fml <- as.formula(paste("~", paste(paste0("q", (1:6)[-i]), collapse = " + ")))
  svycralpha(fml, des)
})
put(list(
  call = "psych::alpha(keyed); keyed = likert with q4 -> 6 - q4",
  raw_alpha = a$total$raw_alpha, std_alpha = a$total$std.alpha, G6 = a$total$`G6(smc)`,
  average_r = a$total$average_r, ase = a$total$ase,
  duhachek_low = a$total$raw_alpha - qnorm(0.975) * a$total$ase,
  duhachek_high = a$total$raw_alpha + qnorm(0.975) * a$total$ase,
  feldt_low = fe$lower.ci, feldt_high = fe$upper.ci,
  item = rownames(a$item.stats), alpha_drop = a$alpha.drop$raw_alpha, std_alpha_drop = a$alpha.drop$std.alpha,
  r_drop = a$item.stats$r.drop, r_cor = a$item.stats$r.cor, item_mean = a$item.stats$mean, item_sd = a$item.stats$sd,
  omega_call = "psych::omega(keyed, nfactors = 1)",
  omega_tot = omg$omega.tot, omega_alpha = omg$alpha, omega_G6 = omg$G6,
  fa1_loadings = as.numeric(f1$loadings), fa1_uniquenesses = as.numeric(f1$uniquenesses),
  svycralpha_call = "svycralpha(~q1+...+q6, svydesign(ids=~1, weights=~w, data=keyed))",
  svycralpha = as.numeric(walpha), svycralpha_drop = as.numeric(walpha_drop)
), "alpha.json")

# ---------------------------------------------------------------------------------------------
# 2. Two-factor data for KMO / Bartlett / EFA / CFA: 500 respondents, 8 seven-point items.
set.seed(7)
n2 <- 500
F <- MASS::mvrnorm(n2, c(0, 0), matrix(c(1, 0.4, 0.4, 1), 2))
L <- rbind(c(.8, 0), c(.7, 0), c(.6, .1), c(.65, 0), c(0, .75), c(0, .7), c(.1, .6), c(0, .55))
X <- F %*% t(L) + sapply(1:8, function(j) rnorm(n2, sd = sqrt(1 - sum(L[j, ]^2) - 2 * 0.4 * prod(L[j, ]))))
efa_data <- as.data.frame(round(pmin(pmax(4 + 1.2 * X, 1), 7)))
names(efa_data) <- c(paste0("a", 1:4), paste0("b", 1:4))
write.csv(efa_data, file.path(out_dir, "efa.csv"), row.names = FALSE)
R2 <- cor(efa_data)
k <- KMO(efa_data)
bt <- cortest.bartlett(R2, n = n2)
fa2 <- fa(efa_data, nfactors = 2, fm = "minres", rotate = "oblimin")
fa2v <- fa(efa_data, nfactors = 2, fm = "minres", rotate = "varimax")
cfa_model <- "A =~ a1 + a2 + a3 + a4\nB =~ b1 + b2 + b3 + b4"
fit <- cfa(cfa_model, data = efa_data, estimator = "ML", std.lv = TRUE)
fm <- fitMeasures(fit, c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr"))
std <- standardizedSolution(fit)
std <- std[std$op == "=~", ]
put(list(
  kmo_call = "psych::KMO(efa)", kmo_msa = k$MSA, kmo_msai = as.numeric(k$MSAi), item = names(efa_data),
  bartlett_call = "psych::cortest.bartlett(cor(efa), n = 500)",
  bartlett_chisq = bt$chisq, bartlett_df = bt$df, bartlett_p = bt$p.value,
  fa_call = "psych::fa(efa, nfactors = 2, fm = 'minres', rotate = 'oblimin')",
  fa_loadings = unclass(fa2$loadings)[, 1:2], fa_phi = fa2$Phi, fa_communality = as.numeric(fa2$communality),
  fa_varimax_loadings = unclass(fa2v$loadings)[, 1:2],
  cfa_call = "lavaan::cfa('A =~ a1+a2+a3+a4; B =~ b1+b2+b3+b4', efa, estimator = 'ML', std.lv = TRUE)",
  cfa = as.list(fm), cfa_std_loadings = std$est.std, cfa_std_item = std$rhs
), "validity.json")

# ---------------------------------------------------------------------------------------------
# 3. ICC: 30 case files scored 0-100 by 4 reviewers (balanced), plus Shrout & Fleiss (1979) Table 2.
set.seed(11)
truth <- rnorm(30, 82, 8)
bias <- c(0, -2, 1.5, 3)
sc <- sapply(bias, function(b) round(truth + b + rnorm(30, sd = 4), 1))
colnames(sc) <- paste0("r", 1:4)
icc_long <- data.frame(case = rep(sprintf("C%02d", 1:30), 4), rater = rep(colnames(sc), each = 30), score = as.vector(sc))
write.csv(icc_long, file.path(out_dir, "icc_long.csv"), row.names = FALSE)
ic <- ICC(sc, lmer = FALSE)$results
sf <- matrix(c(9, 2, 5, 8, 6, 1, 3, 2, 8, 4, 6, 8, 7, 1, 2, 6, 10, 5, 6, 9, 6, 2, 4, 7), ncol = 4, byrow = TRUE)
ic_sf <- ICC(sf, lmer = FALSE)$results
put(list(
  call = "psych::ICC(wide, lmer = FALSE)", type = ic$type, ICC = ic$ICC, F = ic$F, df1 = ic$df1, df2 = ic$df2,
  p = ic$p, lower = ic$`lower bound`, upper = ic$`upper bound`,
  sf_call = "psych::ICC(Shrout & Fleiss 1979 Table 2, lmer = FALSE)", sf_data = sf,
  sf_ICC = ic_sf$ICC, sf_lower = ic_sf$`lower bound`, sf_upper = ic_sf$`upper bound`, sf_F = ic_sf$F, sf_p = ic_sf$p
), "icc.json")

# ---------------------------------------------------------------------------------------------
# 4. Cohen's kappa: two reviewers grade 150 case files 1..4 (优秀/良好/合格/不合格).
set.seed(3)
g1 <- sample(1:4, 150, replace = TRUE, prob = c(.2, .4, .3, .1))
g2 <- ifelse(runif(150) < 0.7, g1, pmin(pmax(g1 + sample(c(-1, 1, 2), 150, replace = TRUE), 1), 4))
write.csv(data.frame(rev1 = g1, rev2 = g2), file.path(out_dir, "kappa.csv"), row.names = FALSE)
kq <- cohen.kappa(cbind(g1, g2))
wl <- 1 - abs(outer(1:4, 1:4, "-")) / 3
kl <- cohen.kappa(cbind(g1, g2), w = wl)
# Textbook large-sample variance of weighted kappa, Fleiss, Cohen & Everitt (1969), eq. 13,
# written out independently of psych to show where psych's var.weighted differs.
fce_var <- function(a, b, w) {
  p <- table(factor(a, 1:4), factor(b, 1:4)) / length(a)
  pr <- rowSums(p); pc <- colSums(p)
  po <- sum(w * p); pe <- sum(w * outer(pr, pc)); kw <- (po - pe) / (1 - pe)
  wi <- as.vector(w %*% pc); wj <- as.vector(t(w) %*% pr)
  s <- sum(p * (w - outer(wi, wj, "+") * (1 - kw))^2)
  (s - (kw - pe * (1 - kw))^2) / (length(a) * (1 - pe)^2)
}
put(list(
  call = "psych::cohen.kappa(cbind(rev1, rev2)) (weighted = quadratic default); w = 1 - |i-j|/3 for linear",
  kappa = kq$kappa, var_kappa = kq$var.kappa, kappa_low = kq$confid[1, 1], kappa_high = kq$confid[1, 3],
  quadratic = kq$weighted.kappa, var_quadratic = kq$var.weighted,
  quadratic_low = kq$confid[2, 1], quadratic_high = kq$confid[2, 3],
  linear = kl$weighted.kappa, var_linear = kl$var.weighted, linear_low = kl$confid[2, 1], linear_high = kl$confid[2, 3],
  fce1969_var_quadratic = fce_var(g1, g2, 1 - abs(outer(1:4, 1:4, "-"))^2 / 9),
  fce1969_var_linear = fce_var(g1, g2, wl),
  percent_agreement = mean(g1 == g2)
), "kappa.json")
cat("done\n")
